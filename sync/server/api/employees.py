"""Employees: create, list, read, erase; their consent to face attendance and their enrolment from photos."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from core.uploads import Limits, UploadError, read_upload
from sync.server.api.deps import Enroller, ManageConsent, ReadHR, Store, WriteHR
from sync.server.api.models import ConsentIn, EmployeeIn
from sync.server.enrolment import MAX_PHOTO_BYTES
from sync.server.store import consents, device_enrolments, employees

#: Photos per upload: bounds one request's memory and embedding time.
MAX_PHOTOS = 20
#: Bytes of one photo upload request as a whole (a phone photo is 2-8 MB); the BodyLimit middleware of
#: ``create_app`` allows this much on the photo route and refuses more with 413 before reading it.
MAX_UPLOAD_BYTES = 128 * 1024 * 1024
PHOTO_LIMITS = Limits(max_file_bytes=MAX_PHOTO_BYTES, max_files=MAX_PHOTOS, max_request_bytes=MAX_UPLOAD_BYTES)

router = APIRouter()


@router.post("/api/employees", status_code=201)
def create_employee(body: EmployeeIn, who: WriteHR, store: Store) -> dict[str, Any]:
    return employees.create(store, body.employee_no, body.name, who.actor)


@router.get("/api/employees")
def list_employees(who: ReadHR, store: Store, include_erased: bool = False) -> dict[str, Any]:
    return {"employees": employees.list_all(store, include_erased)}


@router.get("/api/employees/{employee_no}")
def get_employee(employee_no: str, who: ReadHR, store: Store) -> dict[str, Any]:
    return employees.get(store, employee_no)


@router.delete("/api/employees/{employee_no}")
def erase_employee(employee_no: str, who: WriteHR, store: Store) -> dict[str, Any]:
    queued = employees.erase(store, employee_no, who.actor)
    return {"employee_no": employee_no, "erased": True, "erase_sent_to": queued}


@router.get("/api/employees/{employee_no}/enrolments")
def employee_enrolments(employee_no: str, who: ManageConsent, store: Store) -> dict[str, Any]:
    """Consent status and history, each device's enrolment state, and the enrolment events devices
    reported (who, when, how many templates, model, consent version): never a template."""
    employees.get(store, employee_no)  # 404 for an unknown number
    return device_enrolments.of_employee(store, employee_no)


@router.post("/api/employees/{employee_no}/consent", status_code=201)
def record_consent(employee_no: str, body: ConsentIn, who: ManageConsent, store: Store) -> dict[str, Any]:
    """HR records the employee's (new) consent to face attendance: who (the token), when (now), which
    text version. After a withdrawal this is what lets templates reach devices again."""
    return {"employee_no": employee_no,
            "consent": consents.record_given(store, employee_no, body.text_version, who.actor)}


def photo_form(photos: str, consent: str) -> dict[str, Any]:
    """The multipart form of a photo upload, for /openapi.json (the routes read the body themselves: see
    ``enrol_photos``): ``photos`` files and the ``consent_text_version`` signed; the descriptions name whose."""
    fields = {"photos": {"type": "array", "maxItems": MAX_PHOTOS, "description": photos,
                         "items": {"type": "string", "format": "binary"}},
              "consent_text_version": {"type": "string", "minLength": 1, "maxLength": 64, "description": consent}}
    schema = {"type": "object", "required": ["photos", "consent_text_version"], "properties": fields}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


_PHOTO_FORM = photo_form("the employee's face photos (JPEG, PNG...)", "version of the consent text the employee signed")


@router.post("/api/employees/{employee_no}/photos", openapi_extra=_PHOTO_FORM)
async def enrol_photos(request: Request, employee_no: str, who: WriteHR, enroller: Enroller) -> dict[str, Any]:
    """Enrol the employee from photos (multipart: ``photos`` files and ``consent_text_version``).

    No File or Form parameters on purpose: FastAPI reads such a body before any dependency runs, so a
    caller without a token could make the server read (and spool to disk) hundreds of MB before the 401.
    Here the token and role are checked first (``who``), then the body is read into memory within
    PHOTO_LIMITS (the app's BodyLimit middleware bounds it too) and never written to disk.
    """
    upload = await read_upload(request.headers.get("content-type", ""), request.headers.get("content-length"),
                               request.stream(), PHOTO_LIMITS)
    consent = upload.fields.get("consent_text_version")
    missing = [n for n, ok in (("photos", bool(upload.files)), ("consent_text_version", consent is not None)) if not ok]
    if missing:
        raise UploadError(f"body.{missing[0]}: Field required (the form has no {missing[0]!r}).",
                         "Send the photos as form files named 'photos' and the form field consent_text_version.",
                         code="invalid-request", status=422)
    read = [(f.name, f.data) for f in upload.files]  # data None: over MAX_PHOTO_BYTES, reported "too-large"
    del upload
    # Embedding is CPU work: run it in the thread pool, not on the event loop.
    return await run_in_threadpool(
        enroller.enrol, employee_no, read, consent_text_version=consent or "", actor=who.actor
    )
