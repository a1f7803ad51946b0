"""The roster of this terminal and the signed consent that adds an employee to it."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from device.attendance.enrolment import PURPOSE
from device.panel.routes.admin import EMPLOYEE_NO, MAX_NAME, Panel, Refused, consent_version, small_form
from device.store import roster_query

router = APIRouter()


def _listing(request: Request, panel: Panel) -> dict[str, Any]:
    """The roster page's people: searched by number or name (``q``), one page (``page``) at a time."""
    query = request.query_params.get("q", "").strip()[:80]
    raw = request.query_params.get("page", "")
    page = int(raw) if raw.isdigit() and len(raw) < 6 else 0
    people, total = roster_query.search(panel.store, PURPOSE, query, page=page)
    return {"people": people, "total": total, "search": query, "page": page,
            "pages": max(1, -(-total // roster_query.PAGE_SIZE))}


@router.get("/admin/enrol", response_class=HTMLResponse)
def roster_page(request: Request, panel: Panel) -> Response:
    session = panel.session(request)
    if session is None:
        return panel.redirect(request, "/admin/login")
    deleted = request.query_params.get("deleted", "")
    return panel.render(request, "enrol_list.html", session, **_listing(request, panel),
                        version=consent_version(), deleted=deleted if EMPLOYEE_NO.match(deleted) else "", error="",
                        form={})


def _consent_error(form: dict[str, str]) -> str:
    """The i18n key of what is wrong with a consent form, or ""."""
    employee_no, name = form.get("employee_no", "").strip(), form.get("name", "").strip()
    if not EMPLOYEE_NO.match(employee_no):
        return "enrol.error.employee_no"
    if not name or len(name) > MAX_NAME:
        return "enrol.error.name"
    if form.get("signed") != "yes":
        return "enrol.error.consent"
    if form.get("version") != consent_version():
        return "enrol.error.version"
    return ""


@router.post("/admin/enrol/consent", response_class=HTMLResponse)
async def record_consent(request: Request, panel: Panel) -> Response:
    try:
        form = await small_form(request)
        session = panel.check_post(request, form.get("csrf"))
    except Refused as exc:
        return panel.refused(request, exc)
    error = _consent_error(form)
    if error:
        return panel.render(request, "enrol_list.html", session, status=400, **_listing(request, panel),
                            version=consent_version(), deleted="", error=error, form=form)
    employee_no = form.get("employee_no", "").strip()
    await run_in_threadpool(panel.enrol.record_consent, employee_no, form.get("name", "").strip(),
                            text_version=consent_version(), recorded_by=session.actor)
    return panel.redirect(request, f"/admin/enrol/{quote(employee_no)}")
