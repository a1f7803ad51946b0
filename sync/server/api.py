"""The HR API (JSON, bearer tokens with roles) and, through ``pages``, the HR web pages.

Everything is passed in: ``create_app(config, store)``; nothing is looked up globally. Errors are JSON
``{"error": code, "message": what, "fix": what to do}`` with a status that matches the code.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from core.errors import EdgehrError, InputError, StoreError
from sync.server import auth, export, timesheets
from sync.server.cert_revocation import revoke_device_certificate
from sync.server.config import ServerConfig
from sync.server.enrolment import MAX_PHOTO_BYTES, EmbedderParts, Lazy, ServerEnroller, real_embedder_parts
from sync.server.pages import pages_router, static_files
from sync.server.store import (
    HRStore,
    attendance,
    candidates,
    consents,
    device_enrolments,
    devices,
    employees,
    interviews,
    records,
    templates,
    webhook_rows,
)
from sync.server.store.employees import NotFound

_STATUS = {"not-found": 404, "conflict": 409, "unauthenticated": 401, "forbidden": 403, "consent-withdrawn": 409}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmployeeIn(_In):
    employee_no: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)


class ConsentIn(_In):
    text_version: str = Field(min_length=1, max_length=64, description="version of the consent text signed")


class DeviceIn(_In):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field("", max_length=80)
    site: str = Field("", max_length=80)
    sign_public_key: str = Field(description="Ed25519 public key, base64 of 32 bytes")
    sign_key_id: str = Field(description="16 lowercase hex digits")
    box_public_key: str = Field(description="X25519 public key, base64 of 32 bytes")
    box_key_id: str = Field(description="16 lowercase hex digits")


class AssignIn(_In):
    employee_nos: list[str] = Field(max_length=100_000)


class CorrectionIn(_In):
    employee_no: str
    action: Literal["add", "void", "change"]
    reason: str = Field(min_length=3, max_length=500)
    punch_uid: str | None = None
    direction: Literal["in", "out"] | None = None
    at: datetime | None = Field(None, description="ISO 8601 with offset")


class ShiftIn(_In):
    name: str = Field(min_length=1, max_length=80)
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM; at or before start = ends the next day")
    days: list[int] = Field(default=[1, 2, 3, 4, 5], description="ISO weekdays, 1 = Monday")
    grace_in_minutes: int = 0
    grace_out_minutes: int = 0
    overtime_after_minutes: int = 0


class ShiftAssignIn(_In):
    shift_id: int
    valid_from: date


class WebhookIn(_In):
    url: str = Field(max_length=2000)
    secret: str = Field(min_length=16, max_length=200)
    events: list[str]
    format: Literal["json", "wecom"] = "json"


class TokenIn(_In):
    role: auth.Role
    label: str = Field("", max_length=80)


_IDENT = r"^[A-Za-z0-9._:-]{1,64}$"  # the sync protocol's identifiers (they travel to the booth)


class CandidateChange(_In):
    name: str = Field(min_length=1, max_length=128, description="the candidate's name as the booth shows it")
    role_id: str = Field(pattern=_IDENT, description="the role interviewed for")
    question_bank_id: str = Field(pattern=_IDENT, description="the booth's question bank for this interview")
    window_start: datetime = Field(description="start of the scheduled window, ISO 8601 (no offset = server zone)")
    window_end: datetime = Field(description="end of the window; the booth accepts the candidate until then")
    device_id: str | None = Field(None, description="the booth expecting the candidate; none = not scheduled yet")


class CandidateIn(CandidateChange):
    candidate_id: str = Field(pattern=_IDENT, description="HR's id of the candidate (no personal data in it)")


def _principal(request: Request) -> auth.Principal:
    """The caller of an API route, from its bearer token (the store travels in ``app.state``)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    store: HRStore = request.app.state.store
    return auth.authenticate(store, token.strip() if scheme.lower() == "bearer" else None)


class _Role:
    """A dependency that admits the caller only with one of ``allowed`` roles."""

    def __init__(self, allowed: frozenset[auth.Role]) -> None:
        self.allowed = allowed

    def __call__(self, who: Annotated[auth.Principal, Depends(_principal)]) -> auth.Principal:
        return auth.require(who, self.allowed)


# A route parameter annotated with one of these requires a token with a matching role.
ReadHR = Annotated[auth.Principal, Depends(_Role(auth.READ_HR))]
WriteHR = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
ReadDevices = Annotated[auth.Principal, Depends(_Role(auth.READ_DEVICES))]
WriteDevices = Annotated[auth.Principal, Depends(_Role(auth.WRITE_DEVICES))]
AssignDevices = Annotated[auth.Principal, Depends(_Role(auth.ASSIGN_DEVICES))]
Operations = Annotated[auth.Principal, Depends(_Role(auth.OPERATIONS))]
Admin = Annotated[auth.Principal, Depends(_Role(auth.ADMIN))]
# Consent and enrolment records are for HR and admins only (not readonly, not IT).
ManageConsent = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
# Candidates and interview reports (transcripts are the candidate's words): HR and admins only, to read too.
Interviews = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
From = Annotated[date, Query(alias="from", description="first day, YYYY-MM-DD")]
To = Annotated[date, Query(alias="to", description="last day, YYYY-MM-DD (inclusive)")]


def error_response(exc: EdgehrError) -> JSONResponse:
    status = getattr(exc, "status", None) or _STATUS.get(exc.code)
    if status is None:
        status = 503 if isinstance(exc, StoreError) else 400 if isinstance(exc, InputError) else 500
    return JSONResponse({"error": exc.code, "message": exc.what, "fix": exc.fix}, status_code=status)


#: Photos per upload: bounds one request's memory and embedding time.
MAX_PHOTOS = 20


def create_app(
    config: ServerConfig,
    store: HRStore,
    *,
    embedder_parts: Callable[[], EmbedderParts] = real_embedder_parts,
) -> FastAPI:
    """``embedder_parts`` builds the face pipeline for photo enrolment: the real one unless a test or
    tool passes another; it is built on the first upload, once per app (the models load slowly)."""
    app = FastAPI(title=f"edgehr HR API · {config.server.name}", version="1")
    app.state.store = store
    parts, key = Lazy(embedder_parts), Lazy(lambda: templates.load_data_key(config.server.state_dir))
    enroller = ServerEnroller(store, parts=parts.get, key=key.get)

    @app.exception_handler(EdgehrError)
    def _edgehr_error(request: Request, exc: EdgehrError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(
            {
                "error": "invalid-request",
                "message": f"{where}: {first.get('msg', 'invalid')}",
                "fix": "Correct the request as described in /openapi.json.",
            },
            status_code=422,
        )

    @app.get("/api/health")
    def health() -> JSONResponse:
        try:
            with store.db.read() as tx:
                tx.execute("SELECT 1").one()
            ok = True
        except Exception:  # any driver error means "database unreachable": reported, not hidden
            ok = False
        return JSONResponse(
            {"ok": ok, "database": store.db.dialect, "server": config.server.name}, status_code=200 if ok else 503
        )

    # --- punches and timesheets ---------------------------------------------------------------

    @app.get("/api/punches")
    def list_punches(
        who: ReadHR,
        day: date | None = None,
        employee_no: str | None = None,
        device_id: str | None = None,
    ) -> dict[str, Any]:
        rows = attendance.punches(
            store, day=day.isoformat() if day else None, employee_no=employee_no, device_id=device_id
        )
        return {"punches": rows}

    def _rows(first: date, last: date, employee_no: str | None) -> list[timesheets.DayRow]:
        return attendance.load_timesheets(store, first, last, employee_no)

    @app.get("/api/timesheets")
    def get_timesheets(
        who: ReadHR,
        first: From,
        last: To,
        employee_no: str | None = None,
    ) -> dict[str, Any]:
        names = employees.names(store)
        rows = [
            timesheets.row_json(r, store.tz) | {"name": names.get(r.employee_no, "")}
            for r in _rows(first, last, employee_no)
        ]
        return {"from": first.isoformat(), "to": last.isoformat(), "timezone": str(store.tz), "rows": rows}

    @app.get("/api/timesheets.csv")
    def timesheets_csv(
        who: ReadHR,
        first: From,
        last: To,
        employee_no: str | None = None,
    ) -> Response:
        text = export.timesheet_csv(_rows(first, last, employee_no), employees.names(store), store.tz)
        filename = f"timesheets_{first.isoformat()}_{last.isoformat()}.csv"
        return Response(
            text.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @app.post("/api/corrections", status_code=201)
    def create_correction(body: CorrectionIn, who: WriteHR) -> dict[str, Any]:
        return attendance.add_correction(
            store,
            employee_no=body.employee_no,
            action=body.action,
            reason=body.reason,
            actor=who.actor,
            punch_uid=body.punch_uid,
            direction=body.direction,
            at=body.at,
        )

    @app.get("/api/corrections")
    def list_corrections(who: ReadHR, employee_no: str | None = None) -> dict[str, Any]:
        return {"corrections": attendance.corrections(store, employee_no)}

    @app.post("/api/shifts", status_code=201)
    def create_shift(body: ShiftIn, who: WriteHR) -> dict[str, Any]:
        shift_id = attendance.create_shift(
            store,
            name=body.name,
            start=body.start,
            end=body.end,
            days=body.days,
            grace_in_minutes=body.grace_in_minutes,
            grace_out_minutes=body.grace_out_minutes,
            overtime_after_minutes=body.overtime_after_minutes,
            actor=who.actor,
        )
        return {"id": shift_id}

    @app.get("/api/shifts")
    def list_shifts(who: ReadHR) -> dict[str, Any]:
        return {"shifts": attendance.shifts(store)}

    @app.put("/api/employees/{employee_no}/shift")
    def set_shift(employee_no: str, body: ShiftAssignIn, who: WriteHR) -> dict[str, Any]:
        attendance.assign_shift(store, employee_no, body.shift_id, body.valid_from, who.actor)
        return {"employee_no": employee_no, "shift_id": body.shift_id, "valid_from": body.valid_from.isoformat()}

    # --- employees ------------------------------------------------------------------------------

    @app.post("/api/employees", status_code=201)
    def create_employee(body: EmployeeIn, who: WriteHR) -> dict[str, Any]:
        return employees.create(store, body.employee_no, body.name, who.actor)

    @app.get("/api/employees")
    def list_employees(who: ReadHR, include_erased: bool = False) -> dict[str, Any]:
        return {"employees": employees.list_all(store, include_erased)}

    @app.get("/api/employees/{employee_no}")
    def get_employee(employee_no: str, who: ReadHR) -> dict[str, Any]:
        return employees.get(store, employee_no)

    @app.delete("/api/employees/{employee_no}")
    def erase_employee(employee_no: str, who: WriteHR) -> dict[str, Any]:
        queued = employees.erase(store, employee_no, who.actor)
        return {"employee_no": employee_no, "erased": True, "erase_sent_to": queued}

    @app.get("/api/employees/{employee_no}/enrolments")
    def employee_enrolments(employee_no: str, who: ManageConsent) -> dict[str, Any]:
        """Consent status and history, each device's enrolment state, and the enrolment events devices
        reported (who, when, how many templates, model, consent version): never a template."""
        employees.get(store, employee_no)  # 404 for an unknown number
        return device_enrolments.of_employee(store, employee_no)

    @app.post("/api/employees/{employee_no}/consent", status_code=201)
    def record_consent(employee_no: str, body: ConsentIn, who: ManageConsent) -> dict[str, Any]:
        """HR records the employee's (new) consent to face attendance: who (the token), when (now), which
        text version. After a withdrawal this is what lets templates reach devices again."""
        return {"employee_no": employee_no,
                "consent": consents.record_given(store, employee_no, body.text_version, who.actor)}

    @app.post("/api/employees/{employee_no}/photos")
    async def enrol_photos(
        employee_no: str,
        who: WriteHR,
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

    # --- devices --------------------------------------------------------------------------------

    @app.post("/api/devices", status_code=201)
    def register_device(body: DeviceIn, who: WriteDevices) -> dict[str, Any]:
        return devices.register(
            store,
            device_id=body.id,
            name=body.name,
            site=body.site,
            sign_public_key=body.sign_public_key,
            sign_key_id=body.sign_key_id,
            box_public_key=body.box_public_key,
            box_key_id=body.box_key_id,
            actor=who.actor,
        )

    @app.get("/api/devices")
    def list_devices(who: ReadDevices) -> dict[str, Any]:
        return {"devices": devices.list_all(store)}

    @app.get("/api/devices/{device_id}")
    def get_device(device_id: str, who: ReadDevices) -> dict[str, Any]:
        return devices.get(store, device_id)

    @app.post("/api/devices/{device_id}/revoke")
    def revoke_device(device_id: str, who: WriteDevices) -> dict[str, Any]:
        """Ingest refuses the device from now on; its broker certificate is revoked too when the server
        holds the CA (``pki.ca_dir``), else ``certificate.command`` says what to run where the CA is."""
        device = devices.revoke(store, device_id, who.actor)
        return device | {"certificate": revoke_device_certificate(config.pki, device_id)}

    @app.post("/api/devices/{device_id}/rotate-keys", status_code=202)
    def rotate_device_keys(device_id: str, who: WriteDevices) -> dict[str, Any]:
        """Ask the device for new keys (a rotate-key command); it registers them with its next hello."""
        command_seq = devices.request_key_rotation(store, device_id, who.actor)
        return devices.get(store, device_id) | {"command_seq": command_seq}

    @app.put("/api/devices/{device_id}/employees")
    def assign_employees(device_id: str, body: AssignIn, who: AssignDevices) -> dict[str, Any]:
        return devices.assign(store, device_id, body.employee_nos, who.actor)

    @app.get("/api/rejections")
    def rejections(who: Operations) -> dict[str, Any]:
        return {"rejections": records.rejection_counts(store)}

    # --- webhooks and tokens --------------------------------------------------------------------

    @app.post("/api/webhooks", status_code=201)
    def create_webhook(body: WebhookIn, who: WriteHR) -> dict[str, Any]:
        hook_id = webhook_rows.create(
            store, url=body.url, secret=body.secret, events=body.events, body_format=body.format, actor=who.actor
        )
        return {"id": hook_id}

    @app.get("/api/webhooks")
    def list_webhooks(who: WriteHR) -> dict[str, Any]:
        return {"webhooks": webhook_rows.list_all(store)}

    @app.get("/api/webhooks/dead-letters")
    def list_dead_letters(who: WriteHR) -> dict[str, Any]:
        """Deliveries given up on after ``webhooks.max_attempts`` failed attempts, newest first."""
        return {"dead_letters": webhook_rows.dead_letters(store)}

    @app.post("/api/webhooks/deliveries/{delivery_id}/retry")
    def retry_delivery(delivery_id: int, who: WriteHR) -> dict[str, Any]:
        """Give a dead-lettered delivery a fresh schedule; the delivery loop sends it on its next round."""
        if not webhook_rows.requeue(store, delivery_id, who.actor):
            raise NotFound(
                f"Delivery {delivery_id} is not dead-lettered.", "List them with GET /api/webhooks/dead-letters."
            )
        return {"id": delivery_id, "requeued": True}

    @app.get("/api/webhooks/{webhook_id}/deliveries")
    def list_deliveries(webhook_id: int, who: WriteHR) -> dict[str, Any]:
        return {"deliveries": webhook_rows.deliveries(store, webhook_id)}

    @app.delete("/api/webhooks/{webhook_id}")
    def delete_webhook(webhook_id: int, who: WriteHR) -> dict[str, Any]:
        if not webhook_rows.deactivate(store, webhook_id, who.actor):
            raise NotFound(f"There is no active webhook {webhook_id}.", "List webhooks with GET /api/webhooks.")
        return {"id": webhook_id, "active": False}

    @app.post("/api/tokens", status_code=201)
    def create_token(body: TokenIn, who: Admin) -> dict[str, Any]:
        token = auth.create_token(store, body.role, body.label, actor=who.actor)
        return {"token": token, "role": body.role, "note": "Shown once: store it now."}

    @app.get("/api/tokens")
    def list_tokens(who: Admin) -> dict[str, Any]:
        return {"tokens": auth.list_tokens(store)}

    @app.delete("/api/tokens/{token_id}")
    def revoke_token(token_id: int, who: Admin) -> dict[str, Any]:
        if not auth.revoke_token(store, token_id, who.actor):
            raise NotFound(f"There is no active token {token_id}.", "List tokens with GET /api/tokens.")
        return {"id": token_id, "revoked": True}

    _interview_routes(app, store)
    app.include_router(pages_router(config, store))
    app.mount("/static", static_files(), name="static")
    return app


def _interview_routes(app: FastAPI, store: HRStore) -> None:
    """Candidates (each change sends the booth its whole list) and interview sessions from booths."""
    tags: list[str | Enum] = ["interviews"]
    RoleFilter = Annotated[str | None, Query(description="only this role id")]
    Booth = Annotated[str | None, Query(description="only this booth (device id)")]

    @app.post("/api/candidates", status_code=201, tags=tags)
    def create_candidate(body: CandidateIn, who: Interviews) -> dict[str, Any]:
        """Add a candidate; if a booth is named it gets its new candidate list (``list_sent_to``: booth ->
        downlink command_seq)."""
        return candidates.save(store, **body.model_dump(), actor=who.actor, create=True)

    @app.get("/api/candidates", tags=tags)
    def list_candidates(who: Interviews, device_id: Booth = None) -> dict[str, Any]:
        """Every candidate, or one booth's, soonest window first."""
        return {"candidates": candidates.list_all(store, device_id)}

    @app.get("/api/candidates/{candidate_id}", tags=tags)
    def get_candidate(candidate_id: str, who: Interviews) -> dict[str, Any]:
        """One candidate: name, role, question bank, window, booth."""
        return candidates.get(store, candidate_id)

    @app.put("/api/candidates/{candidate_id}", tags=tags)
    def update_candidate(candidate_id: str, body: CandidateChange, who: Interviews) -> dict[str, Any]:
        """Replace a candidate's details; the booth they leave and the booth they join get their new lists."""
        return candidates.save(store, candidate_id=candidate_id, **body.model_dump(), actor=who.actor, create=False)

    @app.delete("/api/candidates/{candidate_id}", tags=tags)
    def delete_candidate(candidate_id: str, who: Interviews) -> dict[str, Any]:
        """Remove a candidate (their interview sessions stay); their booth gets its new list."""
        return candidates.delete(store, candidate_id, who.actor)

    @app.get("/api/interviews", tags=tags)
    def list_interviews(
        who: Interviews,
        first: Annotated[date | None, Query(alias="from", description="first day completed, YYYY-MM-DD")] = None,
        last: Annotated[date | None, Query(alias="to", description="last day completed (inclusive)")] = None,
        role_id: RoleFilter = None,
        device_id: Booth = None,
        candidate_id: Annotated[str | None, Query(description="only this candidate")] = None,
    ) -> dict[str, Any]:
        """Interview sessions completed in a date range (server time zone), newest first, with their rubric
        scores (advice for a human reviewer, not a decision); transcripts are in each session's report."""
        rows = interviews.list_sessions(
            store, first=first, last=last, role_id=role_id, device_id=device_id, candidate_id=candidate_id
        )
        return {"interviews": rows}

    @app.get("/api/interviews.csv", tags=tags)
    def interviews_csv(
        who: Interviews, first: From, last: To, role_id: RoleFilter = None, device_id: Booth = None
    ) -> Response:
        """One CSV row per competency score of the sessions completed in the range (UTF-8 with a BOM, for
        Excel); no transcripts or evidence sentences."""
        text = export.interview_scores_csv(interviews.score_rows(store, first, last, role_id, device_id))
        filename = f"interview_scores_{first.isoformat()}_{last.isoformat()}.csv"
        return Response(
            text.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @app.get("/api/interviews/{session_id}", tags=tags)
    def get_interview(session_id: str, who: Interviews) -> dict[str, Any]:
        """A session's report: answers with transcripts, scores with their evidence sentences, the consent
        id, the booth, the times, delivery figures (apart from the scores), and conflicting records if any."""
        return interviews.report(store, session_id)

    @app.delete("/api/interviews/{session_id}", tags=tags)
    def erase_interview(session_id: str, who: Interviews) -> dict[str, Any]:
        """Erase a session's transcripts, scores and ids (a candidate's request); the audit log keeps the act."""
        return interviews.erase(store, session_id, who.actor)
