"""The employee's kiosk PIN for 1:1 mode, set (typed twice) or cleared by the site admin."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from device.panel.routes.admin import Panel
from device.store.pins import clear_pin, set_pin

router = APIRouter()


@router.post("/admin/enrol/{employee_no}/pin", response_class=HTMLResponse)
async def pin(request: Request, employee_no: str, panel: Panel) -> Response:
    """Set (typed twice) or clear the employee's keypad PIN. Only its scrypt hash is kept; the PIN is
    never echoed back, logged or audited (device/store/pins.py)."""
    checked = await panel.employee_post(request, employee_no)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    store, clock = panel.store, panel.enrol.clock
    if form.get("action") == "clear":
        await run_in_threadpool(clear_pin, store, employee_no, at=clock.now(), actor=session.actor)
        return panel.redirect(request, f"/admin/enrol/{quote(employee_no)}?pin-cleared=1")
    if form.get("pin", "") != form.get("pin_again", ""):
        return panel.employee_page(request, session, employee_no, error="enrol.pin.mismatch", status=400)
    try:
        await run_in_threadpool(set_pin, store, employee_no, form.get("pin", ""), at=clock.now(), actor=session.actor)
    except InputError:
        return panel.employee_page(request, session, employee_no, error="enrol.pin.format", status=400)
    return panel.redirect(request, f"/admin/enrol/{quote(employee_no)}?pin-set=1")
