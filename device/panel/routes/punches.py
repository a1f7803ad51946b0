"""Punches by day and person, the deciding frame where snapshots are on, and the admin's corrections: add a
missed punch or void a wrong one, with a reason (audited, sent to HR as a ``punch-correction`` record)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

import re
from datetime import datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from device.panel.admin_auth import Session
from device.panel.routes.admin import EMPLOYEE_NO, Panel, Refused
from device.panel.terminal_tools import TerminalTools
from device.store import punch_log

router = APIRouter()
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_REASON = 500
#: A missed punch may be added up to this far ahead of the terminal's clock (typing a minute ahead is fine).
FUTURE_SLACK = timedelta(minutes=5)


def _page(request: Request, panel: Panel, session: Session, tools: TerminalTools, *, status: int = 200,
          error: str = "", form: dict[str, str] | None = None) -> Response:
    params = request.query_params
    form = form or {}
    day = form.get("day") or params.get("day", "")
    day = day if DAY.match(day) else tools.today()
    employee = (form.get("employee") or params.get("employee", "")).strip()[:80]
    page = int(params["page"]) if params.get("page", "").isdigit() and len(params["page"]) < 6 else 0
    rows, total = punch_log.day_punches(panel.store, day, employee, page=page)
    return panel.render(
        request, "punches.html", session, status=status, rows=rows, total=total, day=day, employee=employee,
        page=page, pages=max(1, -(-total // punch_log.PAGE_SIZE)), error=error, form=form,
        corrections=punch_log.corrections(panel.store, 50), snapshots=panel.snapshots is not None,
        done=params.get("done", "") if params.get("done", "").isdigit() else "",
        now=tools.clock.now().astimezone(tools.zone).strftime("%Y-%m-%dT%H:%M"),
    )


@router.get("/admin/punches", response_class=HTMLResponse)
def punches_page(request: Request, panel: Panel) -> Response:
    checked = panel.terminal_view(request)
    if isinstance(checked, Response):
        return checked
    return _page(request, panel, *checked)


def _known(panel: Panel, employee_no: str) -> bool:
    row = panel.store.conn.execute("SELECT 1 FROM employees WHERE employee_no = ?", (employee_no,)).fetchone()
    return row is not None


def _fields(
    panel: Panel, tools: TerminalTools, session: Session, form: dict[str, str], action: str
) -> dict[str, object]:
    """The correction's body fields from the form, or Refused naming the i18n key of what is wrong."""
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise Refused("punches.error.reason", 400)
    if action == "void":
        found = punch_log.punch_by_uid(panel.store, form.get("uid", ""))
        if found is None:
            raise Refused("punches.error.unknown-punch", 400)
        if form.get("uid", "") in punch_log.voided_uids(panel.store):
            raise Refused("punches.error.already-void", 400)
        return {"action": "void", "employee_no": found[0], "punch_uid": form["uid"], "reason": reason,
                "admin": session.user}
    employee_no = form.get("employee_no", "").strip()
    if not EMPLOYEE_NO.match(employee_no) or not _known(panel, employee_no):
        raise Refused("punches.error.employee", 400)
    if form.get("direction") not in ("in", "out"):
        raise Refused("punches.error.direction", 400)
    try:
        local = datetime.strptime(form.get("at", ""), "%Y-%m-%dT%H:%M").replace(tzinfo=tools.zone)
    except ValueError:
        raise Refused("punches.error.time", 400) from None
    if local > tools.clock.now() + FUTURE_SLACK:
        raise Refused("punches.error.future", 400)
    return {"action": "add", "employee_no": employee_no, "direction": form["direction"],
            "at_ms": int(local.timestamp() * 1000), "reason": reason, "admin": session.user}


@router.post("/admin/punches/{action}", response_class=HTMLResponse)
async def correct(request: Request, action: str, panel: Panel) -> Response:
    checked = await panel.terminal_post(request)
    if isinstance(checked, Response):
        return checked
    session, tools, form = checked
    if action not in ("add", "void"):
        return panel.message(request, session, 404, "admin.page.unavailable")
    try:
        fields = _fields(panel, tools, session, form, action)
        seq = await run_in_threadpool(punch_log.record_correction, panel.store, fields, actor=session.actor,
                                      at=tools.clock.now(), clock_synced=tools.clock.synced())
    except Refused as exc:
        return _page(request, panel, session, tools, status=400, error=exc.key, form=form)
    except InputError:  # the protocol refused the body (e.g. a time outside its window)
        return _page(request, panel, session, tools, status=400, error="punches.error.invalid", form=form)
    day = form.get("day", "")
    return panel.redirect(request, f"/admin/punches?day={quote(day)}&done={seq}")
