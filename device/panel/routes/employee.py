"""One employee's page: consent history, enrolment, kiosk PIN, punch snapshots and the dangerous buttons."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from device.panel.routes.admin import Panel

router = APIRouter()

#: ?flag=1 after a redirect -> the notice the page shows.
_NOTICES = {
    "withdrawn": "enrol.withdraw.done",
    "pin-set": "enrol.pin.done-set",
    "pin-cleared": "enrol.pin.done-cleared",
}


@router.get("/admin/enrol/{employee_no}", response_class=HTMLResponse)
def employee(request: Request, employee_no: str, panel: Panel) -> Response:
    session = panel.session(request)
    if session is None:
        return panel.redirect(request, "/admin/login")
    done = next((key for flag, key in _NOTICES.items() if request.query_params.get(flag) == "1"), "")
    return panel.employee_page(request, session, employee_no, notice=done)
