"""Employee self-service pages (/me: my hours, punches and correction requests; filing a request) and HR's
list of requests (/correction-requests: accept or reject with a reason). Same store calls as the API
(``sync.server.self_service``, ``store.correction_requests``); forms are same-origin with the CSRF token.
Every other page refuses the employee role by its own role check (none of them admits "employee")."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.errors import InputError
from sync.server import auth, self_service
from sync.server.app_state import Store
from sync.server.bounds import EARLIEST, LATEST
from sync.server.pages.common import Viewer, csrf_token, form_allowed, render, to_login
from sync.server.store import correction_requests

router = APIRouter(include_in_schema=False)
PER_PAGE = 25


def _forbidden(request: Request, who: auth.Principal, title: str) -> Response:
    return render(request, "forbidden.html", {"who": who, "title": title}, status=403)


def _period(request: Request, store: Store) -> tuple[date, date]:
    """?from= and ?to= (this month so far by default; an unreadable or out-of-range choice falls back)."""
    first, last = self_service.default_period(store)
    try:
        chosen = (date.fromisoformat(request.query_params.get("from") or first.isoformat()),
                  date.fromisoformat(request.query_params.get("to") or last.isoformat()))
    except ValueError:
        return first, last
    if not all(EARLIEST <= d < LATEST for d in chosen) or chosen[1] < chosen[0] or \
            (chosen[1] - chosen[0]).days >= self_service.MAX_DAYS:
        return first, last
    return chosen


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return min(int(raw), 10_000) if raw.isdigit() and 0 < len(raw) <= 5 and int(raw) > 0 else 1


def _me(request: Request, store: Store, who: auth.Principal, status: int = 200, **values: object) -> Response:
    first, last = _period(request, store)
    page = _page_number(request)
    mine, total = self_service.requests(store, who, PER_PAGE, (page - 1) * PER_PAGE)
    context: dict[str, Any] = {
        "who": who, "first": first, "last": last, "hours": self_service.hours(store, who, first, last),
        "punches": self_service.punches(store, who, first, last), "requests": mine, "page": page,
        "pages": max(1, -(-total // PER_PAGE)), "csrf": csrf_token(request, store), "error": "", "detail": "",
        "done": request.query_params.get("done") == "1", "form": {},
    }
    return render(request, "self_service.html", context | values, status=status)


@router.get("/me", response_class=HTMLResponse)
def my_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.SELF_SERVICE:
        return _forbidden(request, who, "hr.me.title")
    return _me(request, store, who)


def _when(day: str, clock: str, store: Store) -> datetime | None:
    """A local date and HH:MM from the form, in the server's zone (None when either is missing)."""
    if not day or not clock:
        return None
    try:
        moment = datetime.combine(date.fromisoformat(day), datetime.strptime(clock, "%H:%M").time(), store.tz)
    except ValueError as exc:
        raise InputError("The date or time is not readable.", "Give the date and time as shown.") from exc
    return moment


@router.post("/me/requests", response_class=HTMLResponse)
def file_request(
    request: Request, who: Viewer, store: Store,
    csrf: str = Form("", max_length=100), action: str = Form("add", max_length=10),
    direction: str = Form("", max_length=3), day: str = Form("", max_length=10), clock: str = Form("", max_length=5),
    punch_uid: str = Form("", max_length=200), reason: str = Form("", max_length=600),
) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.SELF_SERVICE:
        return _forbidden(request, who, "hr.me.title")
    form = {"action": action, "direction": direction, "day": day, "clock": clock, "punch_uid": punch_uid,
            "reason": reason}
    if not form_allowed(request, store, csrf):
        return _me(request, store, who, 403, error="hr.me.refused", form=form)
    if action not in ("add", "void") or direction not in ("", "in", "out"):
        return _me(request, store, who, 400, error="hr.me.invalid", form=form)
    try:
        new = correction_requests.NewRequest(
            self_service.own_number(who), "add" if action == "add" else "void", reason,
            punch_uid or None if action == "void" else None,
            (direction or None) if action == "add" else None,  # type: ignore[arg-type]
            _when(day, clock, store) if action == "add" else None,
        )
        self_service.file_request(store, who, new)
    except InputError as exc:
        return _me(request, store, who, 400, error="hr.me.invalid", detail=f"{exc.what} {exc.fix}", form=form)
    return RedirectResponse("/me?done=1", status_code=303)


def _hr_list(request: Request, store: Store, who: auth.Principal, status: int = 200, **values: object) -> Response:
    shown = request.query_params.get("status", "pending")
    wanted = shown if shown in correction_requests.STATUSES else None
    page = _page_number(request)
    rows, total = correction_requests.listed(store, status=wanted, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    context: dict[str, Any] = {
        "who": who, "rows": rows, "total": total, "shown": wanted or "all", "page": page,
        "pages": max(1, -(-total // PER_PAGE)), "csrf": csrf_token(request, store),
        "can_decide": who.role in auth.DECIDE_REQUESTS, "error": "", "detail": "",
    }
    return render(request, "correction_requests.html", context | values, status=status)


@router.get("/correction-requests", response_class=HTMLResponse)
def requests_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.READ_HR:
        return _forbidden(request, who, "hr.requests.title")
    return _hr_list(request, store, who)


@router.post("/correction-requests/{request_id}/{decision}", response_class=HTMLResponse)
def decide(
    request: Request, request_id: str, decision: str, who: Viewer, store: Store,
    csrf: str = Form("", max_length=100), reason: str = Form("", max_length=600),
) -> Response:
    # The path is checked after the sign-in (a visitor without a cookie is sent to log in, whatever the path).
    if who is None:
        return to_login()
    if who.role not in auth.DECIDE_REQUESTS:
        return _forbidden(request, who, "hr.requests.title")
    if not form_allowed(request, store, csrf):
        return _hr_list(request, store, who, 403, error="hr.requests.refused")
    if decision not in ("accept", "reject") or not request_id.isdigit() or len(request_id) > 18:
        return _hr_list(request, store, who, 404, error="hr.requests.unknown")
    try:
        if decision == "accept":
            correction_requests.accept(store, int(request_id), who.actor)
        else:
            correction_requests.reject(store, int(request_id), reason, who.actor)
    except InputError as exc:
        status = {"conflict": 409, "not-found": 404}.get(exc.code, 400)
        return _hr_list(request, store, who, status, error="hr.requests.invalid",
                        detail=f"{exc.what} {exc.fix}")
    return RedirectResponse("/correction-requests", status_code=303)
