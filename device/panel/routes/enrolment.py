"""Enrolment of one employee from uploaded photos or from the kiosk camera.

Photos go through the same Enroller as ``edgehr faces enrol`` (quality gate, liveness and embedding live
there, not here), are held in memory only and dropped after embedding.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from core.uploads import UploadError, read_upload
from device.attendance.enrolment import OversizedPhoto
from device.panel.live import KioskAway
from device.panel.routes.admin import Panel, Refused, small_form

router = APIRouter()


@router.post("/admin/enrol/{employee_no}/photos", response_class=HTMLResponse)
async def upload_photos(request: Request, employee_no: str, panel: Panel) -> Response:
    # The session is checked before a byte of the body is read: nobody uploads without logging in.
    if panel.session(request) is None:
        return panel.redirect(request, "/admin/login")
    limits = panel.limits
    try:
        upload = await read_upload(request.headers.get("content-type", ""), request.headers.get("content-length"),
                                   request.stream(), limits)
        session = panel.check_post(request, upload.fields.get("csrf"))
    except Refused as exc:
        return panel.refused(request, exc)
    except UploadError as exc:
        return panel.message(request, panel.session(request), exc.status, f"upload.{exc.code}",
                             files=limits.max_files, mb=limits.max_file_bytes // (1024 * 1024),
                             total=limits.max_request_bytes // (1024 * 1024))
    if not upload.files:
        return panel.employee_page(request, session, employee_no, error="enrol.error.no-files", status=400)
    photos: list[tuple[str, bytes | OversizedPhoto]] = [
        (f.name, f.data if f.data is not None else OversizedPhoto(f.size)) for f in upload.files
    ]
    del upload  # the photos now live only in ``photos``, which the enroller consumes
    try:
        report = await run_in_threadpool(panel.enrol.enrol_photos, employee_no, photos, actor=session.actor)
    except InputError as exc:
        return panel.employee_page(request, session, employee_no, error=f"enrol.error.{exc.code}", status=400)
    finally:
        photos.clear()
    return panel.employee_page(request, session, employee_no, report=report, source="photos")


@router.post("/admin/enrol/{employee_no}/camera", response_class=HTMLResponse)
async def enrol_camera(request: Request, employee_no: str, panel: Panel) -> Response:
    try:
        form = await small_form(request)
        session = panel.check_post(request, form.get("csrf"))
    except Refused as exc:
        return panel.refused(request, exc)
    if panel.camera is None:
        return panel.employee_page(request, session, employee_no, error="enrol.error.no-camera", status=409)
    try:
        report = await run_in_threadpool(panel.camera, employee_no, session.actor)
    except InputError as exc:
        return panel.employee_page(request, session, employee_no, error=f"enrol.error.{exc.code}", status=409)
    except KioskAway:  # the panel runs as its own process and the kiosk's is restarting or stopped
        return panel.employee_page(request, session, employee_no, error="enrol.error.kiosk-down", status=503)
    return panel.employee_page(request, session, employee_no, report=report, source="camera")
