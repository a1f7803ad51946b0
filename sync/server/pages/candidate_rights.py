"""A candidate's rights from the HR pages: their data export (readable page and JSON) and erasure."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sync.server import auth, review
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import candidate_rights

router = APIRouter(include_in_schema=False)


def _denied(request: Request, who: auth.Principal) -> Response:
    return render(request, "forbidden.html", {"who": who, "title": "hr.export.title"}, status=403)


@router.get("/candidates/{candidate_id}/export", response_class=HTMLResponse)
def export_page(request: Request, candidate_id: str, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.CANDIDATE_RIGHTS:
        return _denied(request, who)
    data = candidate_rights.export(store, candidate_id, with_demographics=who.role == "admin")
    return render(request, "candidate_export.html",
                  {"who": who, "data": data, "subscore_names": review.SUBSCORE_NAMES})


@router.get("/candidates/{candidate_id}/export.json")
def export_json(request: Request, candidate_id: str, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.CANDIDATE_RIGHTS:
        return _denied(request, who)
    data = candidate_rights.export(store, candidate_id, with_demographics=who.role == "admin")
    name = f"candidate_{candidate_id}.json"
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/candidates/{candidate_id}/erase", response_class=HTMLResponse)
def erase_form(request: Request, candidate_id: str, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.CANDIDATE_RIGHTS:
        return _denied(request, who)
    done = candidate_rights.erase(store, candidate_id, who.actor)
    return render(request, "erasure.html", {"who": who, "erasure": done})


@router.get("/erasures/{erasure_id}", response_class=HTMLResponse)
def erasure_page(request: Request, erasure_id: str, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.CANDIDATE_RIGHTS:
        return _denied(request, who)
    return render(request, "erasure.html", {"who": who, "erasure": candidate_rights.erasure(store, erasure_id)})
