"""Booth sessions at this device, newest first, paged: candidate names and ids, status (in progress,
completed, abandoned) and whether the interview-result is queued in the outbox or delivered (acknowledged
by the server). Any signed-in account reads it (admins and viewers); nothing of a candidate's audio or
transcript is on this page (device/store/booth_session_list.py reads names and ids only)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from device.panel.routes.admin import Panel
from device.store import booth_session_list

router = APIRouter()


@router.get("/admin/booth-sessions", response_class=HTMLResponse)
def booth_sessions_page(request: Request, panel: Panel) -> Response:
    checked = panel.terminal_view(request)
    if isinstance(checked, Response):
        return checked
    session, tools = checked
    raw = request.query_params.get("page", "")
    page = int(raw) if raw.isdigit() and len(raw) < 6 else 0
    now_ms = int(tools.clock.now().timestamp() * 1000)
    rows, total = booth_session_list.page(panel.enroller.store, page, now_ms=now_ms,
                                          resume_minutes=tools.config.booth.resume_minutes)
    zone = tools.zone

    def local(ms: int | None) -> str:  # in the site's time zone, like the punches page
        return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return panel.render(request, "booth_sessions.html", session, rows=rows, page=page, total=total, local=local,
                        pages=max(1, -(-total // booth_session_list.PAGE_SIZE)))
