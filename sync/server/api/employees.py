"""Employees: create, list, read, erase; their consent to face attendance and their enrolment from photos."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from sync.server.api.deps import Enroller, ManageConsent, ReadHR, Store, WriteHR
from sync.server.api.models import ConsentIn, EmployeeIn
from sync.server.enrolment import MAX_PHOTO_BYTES
from sync.server.store import consents, device_enrolments, employees

#: Photos per upload: bounds one request's memory and embedding time.
MAX_PHOTOS = 20

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


@router.post("/api/employees/{employee_no}/photos")
async def enrol_photos(
    employee_no: str,
    who: WriteHR,
    enroller: Enroller,
    photos: Annotated[list[UploadFile], File(description="the employee's face photos (JPEG, PNG...)")],
    consent_text_version: Annotated[str, Form(description="version of the consent text the employee signed")],
) -> dict[str, Any]:
    if len(photos) > MAX_PHOTOS:
        raise InputError(f"{len(photos)} photos were uploaded; at most {MAX_PHOTOS} are read.",
                         "Upload the best few photos of the employee.")
    # Read at most one byte over the limit: the decoder then reports the photo as too large.
    read = [(upload.filename or f"photo-{i + 1}", await upload.read(MAX_PHOTO_BYTES + 1))
            for i, upload in enumerate(photos)]
    # Embedding is CPU work: run it in the thread pool, not on the event loop.
    return await run_in_threadpool(
        enroller.enrol, employee_no, read, consent_text_version=consent_text_version, actor=who.actor
    )
