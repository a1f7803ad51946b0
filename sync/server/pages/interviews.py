"""Interview review pages (reviewers, HR, admins): roles with their ranked candidates, one interview with
its evidence and radar chart, score overrides and shortlist decisions (forms posting here, audited)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.errors import EdgehrError
from sync.server import auth, interview_review, radar, review
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import review as review_store

router = APIRouter(include_in_schema=False)


def _forbidden(request: Request, who: auth.Principal, title: str) -> Response:
    return render(request, "forbidden.html", {"who": who, "title": title}, status=403)


@router.get("/interviews", response_class=HTMLResponse)
def interviews_page(request: Request, who: Viewer, store: Store, role: str | None = None) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.REVIEW:
        return _forbidden(request, who, "hr.iv.title")
    roles = review_store.roles(store)
    chosen = role or (roles[0]["role_id"] if roles else None)
    board = review_store.board(store, chosen) if chosen else []
    return render(request, "interviews.html", {"who": who, "roles": roles, "role": chosen, "board": board})


def _interview(request: Request, who: auth.Principal, store: Store, session_id: str, error: str = "") -> Response:
    data = interview_review.full(store, session_id)
    views = [
        review.ScoreView(s["position"], s["competency"], s["original_score"], s["score"], s["scale_max"],
                         s["weight"], s["overridden"])
        for s in data["scores"]
    ]  # fmt: skip
    context: dict[str, Any] = {"who": who, "iv": data, "radar": radar.radar(views), "error": error,
                               "rights": who.role in auth.CANDIDATE_RIGHTS, "subscore_names": review.SUBSCORE_NAMES,
                               "answered": [a["question_id"] for a in data["answers"]]}  # fmt: skip
    return render(request, "interview.html", context, status=400 if error else 200)


@router.get("/interviews/{session_id}", response_class=HTMLResponse)
def interview_page(request: Request, session_id: str, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.REVIEW:
        return _forbidden(request, who, "hr.iv.title")
    return _interview(request, who, store, session_id)


@router.post("/interviews/{session_id}/override")
def override_form(
    request: Request,
    session_id: str,
    who: Viewer,
    store: Store,
    competency: str = Form(max_length=64),
    score: float = Form(ge=0, le=100),
    reason: str = Form(max_length=500),
) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.REVIEW:
        return _forbidden(request, who, "hr.iv.title")
    try:
        review_store.override(store, session_id, competency, score, reason, who.actor)
    except EdgehrError as exc:
        return _interview(request, who, store, session_id, error=exc.what)
    return RedirectResponse(f"/interviews/{session_id}#overrides", status_code=303)


@router.post("/interviews/{session_id}/decision")
def decision_form(
    request: Request,
    session_id: str,
    who: Viewer,
    store: Store,
    decision: str = Form(max_length=16),
    reason: str = Form(max_length=500),
) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.REVIEW:
        return _forbidden(request, who, "hr.iv.title")
    data = interview_review.full(store, session_id)
    try:
        review_store.decide(store, data["candidate_id"], data["role_id"], decision, reason, who.actor)
    except EdgehrError as exc:
        return _interview(request, who, store, session_id, error=exc.what)
    return RedirectResponse(f"/interviews/{session_id}#decision", status_code=303)
