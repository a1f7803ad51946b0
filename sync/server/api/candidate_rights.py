"""A candidate's rights: their data export (JSON, or a readable HTML page) and erasure on request, which
reaches the booths through the downlink and is confirmed back by them."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server import auth, review
from sync.server.api.deps import Store
from sync.server.api.review_deps import CandidateRights
from sync.server.pages.common import render
from sync.server.store import candidate_rights

router = APIRouter(tags=["candidate rights"])


def _export(store: Store, candidate_id: str, who: auth.Principal) -> dict[str, Any]:
    # Self-reported demographics are for auditors: an admin's export carries them, HR's says how many are held.
    return candidate_rights.export(store, candidate_id, with_demographics=who.role == "admin")


@router.get("/api/candidates/{candidate_id}/export")
def export_json(candidate_id: str, who: CandidateRights, store: Store) -> dict[str, Any]:
    """Everything the server holds about a candidate, as JSON (their right of access)."""
    return _export(store, candidate_id, who)


@router.get("/api/candidates/{candidate_id}/export.html", response_class=HTMLResponse)
def export_html(request: Request, candidate_id: str, who: CandidateRights, store: Store) -> Response:
    """The same export as a readable page (zh-CN or en by Accept-Language or ?lang=)."""
    return render(request, "candidate_export.html", {"who": None, "data": _export(store, candidate_id, who),
                                                     "subscore_names": review.SUBSCORE_NAMES})


@router.post("/api/candidates/{candidate_id}/erasure", status_code=201)
def erase_candidate(candidate_id: str, who: CandidateRights, store: Store) -> dict[str, Any]:
    """Erase everything of a candidate's on the server and send each booth that may hold their data an
    ``erase``; ``confirmed`` turns true when every booth has acknowledged it."""
    return candidate_rights.erase(store, candidate_id, who.actor)


@router.get("/api/erasures/{erasure_id}")
def erasure_status(erasure_id: str, who: CandidateRights, store: Store) -> dict[str, Any]:
    """An erasure request: counts of what was erased, and each booth's confirmation."""
    return candidate_rights.erasure(store, erasure_id)
