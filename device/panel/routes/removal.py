"""Deleting an employee from this terminal, and withdrawing their consent (templates go, history stays).

Both are confirmed by typing the employee number again (``AdminPanel.confirmed_post``).
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from device.panel.routes.admin import Panel

router = APIRouter()


@router.post("/admin/enrol/{employee_no}/delete", response_class=HTMLResponse)
async def delete(request: Request, employee_no: str, panel: Panel) -> Response:
    checked = await panel.confirmed_post(request, employee_no, "confirm", "enrol.delete.mismatch")
    if isinstance(checked, Response):
        return checked
    session, form = checked
    reason = form.get("reason", "").strip()[:200] or "deleted at the device panel"
    await run_in_threadpool(panel.enrol.delete, employee_no, actor=session.actor, reason=reason)
    return panel.redirect(request, f"/admin/enrol?deleted={quote(employee_no)}")


@router.post("/admin/enrol/{employee_no}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, employee_no: str, panel: Panel) -> Response:
    checked = await panel.confirmed_post(request, employee_no, "confirm_withdraw", "enrol.withdraw.mismatch")
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    try:
        await run_in_threadpool(panel.enrol.withdraw_consent, employee_no, actor=session.actor)
    except InputError as exc:
        return panel.employee_page(request, session, employee_no, error=f"enrol.withdraw.{exc.code}", status=409)
    return panel.redirect(request, f"/admin/enrol/{quote(employee_no)}?withdrawn=1")
