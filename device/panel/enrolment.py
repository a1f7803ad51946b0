"""The admin enrolment pages: roster, consent, enrolment from photos or the kiosk camera, deletion,
consent withdrawal, and the employee's punch snapshots (for disputes).

Server-rendered HTML in zh-CN and en, usable on the terminal's 800x480 screen and on a desktop. Every
page needs an admin session (device/panel/admin_auth.py); every form carries the session's CSRF token and
a cross-site Origin is refused. Photos go through the same Enroller as ``edgehr faces enrol`` (quality
gate, liveness and embedding live there, not here), are held in memory only and dropped after embedding.
A punch snapshot is decrypted in memory for each view, audited, and served with Cache-Control: no-store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from core.errors import InputError, StoreError
from core.i18n import Language, t
from device.attendance.enrolment import PURPOSE, Enroller, EnrolmentReport, OversizedPhoto, roster
from device.panel.admin_auth import COOKIE, AdminAuth, Session, csrf_ok
from device.panel.app import pick_language
from device.panel.uploads import DEFAULT_LIMITS, Limits, UploadError, read_upload
from device.store.employees import consent_history
from device.store.pins import clear_pin, pin_set_at, set_pin
from device.store.snapshots import SnapshotStore

_HERE = Path(__file__).parent
EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_NAME = 80
#: Small forms (login, consent, delete) are url-encoded and never larger than this.
MAX_FORM_BYTES = 16 * 1024

#: Punches with a snapshot listed on an employee's page (newest first).
SNAPSHOTS_LISTED = 20

#: (employee_no, actor) -> the report of an enrolment from the kiosk camera (the terminal's own camera).
CameraEnrol = Callable[[str, str], EnrolmentReport]


def consent_version() -> str:
    """The version of the consent text the page shows: changes whenever either language's text changes."""
    digest = hashlib.sha256(
        (t("consent.face.text", "en") + "\n" + t("consent.face.text", "zh-CN")).encode("utf-8")
    ).hexdigest()
    return f"face-1.{digest[:8]}"


class _Refused(Exception):
    """A request the page answers with a message (in the page's language) and an HTTP status."""

    def __init__(self, key: str, status: int, **values: object) -> None:
        super().__init__(key)
        self.key, self.status, self.values = key, status, values


def enrolment_router(
    enroller: Enroller,
    auth: AdminAuth,
    *,
    default_language: Language,
    camera: CameraEnrol | None = None,
    limits: Limits = DEFAULT_LIMITS,
    snapshots: SnapshotStore | None = None,
) -> APIRouter:
    """``snapshots``: the device's punch snapshots (listed and shown per employee); None hides them."""
    router = APIRouter()
    templates = Jinja2Templates(directory=str(_HERE / "templates"))

    def render(
        request: Request, name: str, session: Session | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        language = pick_language(request, default_language)
        other: Language = "en" if language == "zh-CN" else "zh-CN"
        response = templates.TemplateResponse(
            request,
            name,
            {
                "lang": language,
                "other": other,
                "t": lambda key, **v: t(key, language, **v),
                "t_other": lambda key, **v: t(key, other, **v),
                "csrf": session.csrf if session else "",
                "session": session,
                "q": f"?lang={language}",
                # Where the language switch leads: a page answering a POST is switched on its GET page.
                "here": request.url.path if request.method == "GET" else "/admin/enrol",
                **context,
            },
            status_code=status,
        )
        response.headers["Cache-Control"] = "no-store"
        # The pages show personal data: never framed by another site, never cached, no referrer leaves the
        # device ("same-origin": with "no-referrer" Chromium sends "Origin: null" and the form is refused).
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def redirect(request: Request, path: str) -> RedirectResponse:
        language = pick_language(request, default_language)
        joiner = "&" if "?" in path else "?"
        return RedirectResponse(f"{path}{joiner}lang={language}", status_code=303)

    def current(request: Request) -> Session | None:
        return auth.session(request.cookies.get(COOKIE))

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host', '')}"

    def check_post(request: Request, sent_csrf: str | None) -> Session:
        session = current(request)
        if session is None:
            raise _Refused("admin.login.needed", 401)
        if not same_origin(request) or not csrf_ok(session, sent_csrf):
            raise _Refused("admin.csrf", 403)
        return session

    async def small_form(request: Request) -> dict[str, str]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise _Refused("upload.upload-not-multipart", 400)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise _Refused("upload.upload-field-too-long", 413)
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}

    def refused(request: Request, error: _Refused) -> Response:
        session = current(request)
        if error.status == 401:
            return redirect(request, "/admin/login")
        return render(request, "admin_message.html", session, status=error.status, key=error.key, values=error.values)

    def employee_entry(employee_no: str) -> Any:
        return next((e for e in roster(enroller.store) if e.employee_no == employee_no), None)

    def employee_page(
        request: Request, session: Session, employee_no: str, *, report: EnrolmentReport | None = None,
        source: str = "", error: str = "", status: int = 200, notice: str = "",
    ) -> Response:
        entry = employee_entry(employee_no)
        if entry is None:
            return render(request, "admin_message.html", session, status=404, key="enrol.employee.unknown",
                          values={})
        return render(
            request, "enrol_employee.html", session, status=status, entry=entry, report=report, source=source,
            error=error, camera=camera is not None, here=f"/admin/enrol/{quote(employee_no)}",
            needed=enroller.settings.min_good_images, limits=limits, max_mb=limits.max_file_bytes // (1024 * 1024),
            version=consent_version(), notice=notice,
            consents=consent_history(enroller.store, employee_no, PURPOSE),
            snapshots=None if snapshots is None else snapshots.recent(employee_no, SNAPSHOTS_LISTED),
            pin_set_at=pin_set_at(enroller.store, employee_no),
        )

    # -- login ----------------------------------------------------------------------------------------
    @router.get("/admin", response_class=HTMLResponse)
    def admin_home(request: Request) -> Response:
        return redirect(request, "/admin/enrol")

    @router.get("/admin/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        return render(request, "admin_login.html", None, configured=auth.configured(), error="")

    @router.post("/admin/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        try:
            if not same_origin(request):
                raise _Refused("admin.csrf", 403)
            form = await small_form(request)
        except _Refused as exc:
            return refused(request, exc)
        if auth.throttled():
            return render(request, "admin_login.html", None, status=429, configured=True, error="admin.login.throttled")
        client = request.client.host if request.client else "unknown"
        token = await run_in_threadpool(auth.login, form.get("password", ""), client)
        if token is None:
            return render(request, "admin_login.html", None, status=401, configured=auth.configured(),
                          error="admin.login.bad" if auth.configured() else "admin.login.unset")
        response = redirect(request, "/admin/enrol")
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/admin",
                            secure=request.url.scheme == "https")
        return response

    @router.post("/admin/logout")
    async def logout(request: Request) -> Response:
        try:
            form = await small_form(request)
            check_post(request, form.get("csrf"))
        except _Refused as exc:
            return refused(request, exc)
        auth.logout(request.cookies.get(COOKIE))
        response = redirect(request, "/admin/login")
        response.delete_cookie(COOKIE, path="/admin")
        return response

    # -- roster and consent ---------------------------------------------------------------------------
    @router.get("/admin/enrol", response_class=HTMLResponse)
    def roster_page(request: Request) -> Response:
        session = current(request)
        if session is None:
            return redirect(request, "/admin/login")
        deleted = request.query_params.get("deleted", "")
        return render(request, "enrol_list.html", session, people=roster(enroller.store), version=consent_version(),
                      deleted=deleted if EMPLOYEE_NO.match(deleted) else "", error="", form={})

    @router.post("/admin/enrol/consent", response_class=HTMLResponse)
    async def record_consent(request: Request) -> Response:
        try:
            form = await small_form(request)
            session = check_post(request, form.get("csrf"))
        except _Refused as exc:
            return refused(request, exc)
        employee_no = form.get("employee_no", "").strip()
        name = form.get("name", "").strip()
        error = ""
        if not EMPLOYEE_NO.match(employee_no):
            error = "enrol.error.employee_no"
        elif not name or len(name) > MAX_NAME:
            error = "enrol.error.name"
        elif form.get("signed") != "yes":
            error = "enrol.error.consent"
        elif form.get("version") != consent_version():
            error = "enrol.error.version"
        if error:
            return render(request, "enrol_list.html", session, status=400, people=roster(enroller.store),
                          version=consent_version(), deleted="", error=error, form=form)
        await run_in_threadpool(
            enroller.record_consent, employee_no, name, text_version=consent_version(), recorded_by=session.actor
        )
        return redirect(request, f"/admin/enrol/{quote(employee_no)}")

    # -- one employee ---------------------------------------------------------------------------------
    @router.get("/admin/enrol/{employee_no}", response_class=HTMLResponse)
    def employee(request: Request, employee_no: str) -> Response:
        session = current(request)
        if session is None:
            return redirect(request, "/admin/login")
        notices = {"withdrawn": "enrol.withdraw.done", "pin-set": "enrol.pin.done-set",
                   "pin-cleared": "enrol.pin.done-cleared"}
        done = next((key for flag, key in notices.items() if request.query_params.get(flag) == "1"), "")
        return employee_page(request, session, employee_no, notice=done)

    @router.post("/admin/enrol/{employee_no}/photos", response_class=HTMLResponse)
    async def upload_photos(request: Request, employee_no: str) -> Response:
        # The session is checked before a byte of the body is read: nobody uploads without logging in.
        if current(request) is None:
            return redirect(request, "/admin/login")
        try:
            upload = await read_upload(request.headers.get("content-type", ""), request.headers.get("content-length"),
                                       request.stream(), limits)
            session = check_post(request, upload.fields.get("csrf"))
        except _Refused as exc:
            return refused(request, exc)
        except UploadError as exc:
            session_now = current(request)
            return render(request, "admin_message.html", session_now, status=exc.status, key=f"upload.{exc.code}",
                          values={"files": limits.max_files, "mb": limits.max_file_bytes // (1024 * 1024),
                                  "total": limits.max_request_bytes // (1024 * 1024)})
        if not upload.files:
            return employee_page(request, session, employee_no, error="enrol.error.no-files", status=400)
        photos: list[tuple[str, bytes | OversizedPhoto]] = [
            (f.name, f.data if f.data is not None else OversizedPhoto(f.size)) for f in upload.files
        ]
        del upload  # the photos now live only in ``photos``, which the enroller consumes
        try:
            report = await run_in_threadpool(enroller.enrol_photos, employee_no, photos, actor=session.actor)
        except InputError as exc:
            return employee_page(request, session, employee_no, error=f"enrol.error.{exc.code}", status=400)
        finally:
            photos.clear()
        return employee_page(request, session, employee_no, report=report, source="photos")

    @router.post("/admin/enrol/{employee_no}/camera", response_class=HTMLResponse)
    async def enrol_camera(request: Request, employee_no: str) -> Response:
        try:
            form = await small_form(request)
            session = check_post(request, form.get("csrf"))
        except _Refused as exc:
            return refused(request, exc)
        if camera is None:
            return employee_page(request, session, employee_no, error="enrol.error.no-camera", status=409)
        try:
            report = await run_in_threadpool(camera, employee_no, session.actor)
        except InputError as exc:
            return employee_page(request, session, employee_no, error=f"enrol.error.{exc.code}", status=409)
        return employee_page(request, session, employee_no, report=report, source="camera")

    async def employee_post(request: Request, employee_no: str) -> tuple[Session, dict[str, str]] | Response:
        """A small form about one employee: admin session, CSRF, and an employee this device knows."""
        try:
            form = await small_form(request)
            session = check_post(request, form.get("csrf"))
        except _Refused as exc:
            return refused(request, exc)
        if employee_entry(employee_no) is None:
            return render(request, "admin_message.html", session, status=404, key="enrol.employee.unknown", values={})
        return session, form

    async def confirmed_post(
        request: Request, employee_no: str, field: str, mismatch_key: str
    ) -> tuple[Session, dict[str, str]] | Response:
        """A destructive form's checks: ``employee_post``'s, and the employee number typed again into
        ``field`` (so a slip of the finger on the wrong row deletes nothing)."""
        checked = await employee_post(request, employee_no)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        if form.get(field, "").strip() != employee_no:
            return employee_page(request, session, employee_no, error=mismatch_key, status=400)
        return session, form

    @router.post("/admin/enrol/{employee_no}/delete", response_class=HTMLResponse)
    async def delete(request: Request, employee_no: str) -> Response:
        checked = await confirmed_post(request, employee_no, "confirm", "enrol.delete.mismatch")
        if isinstance(checked, Response):
            return checked
        session, form = checked
        reason = form.get("reason", "").strip()[:200] or "deleted at the device panel"
        await run_in_threadpool(enroller.delete, employee_no, actor=session.actor, reason=reason)
        return redirect(request, f"/admin/enrol?deleted={quote(employee_no)}")

    # -- consent withdrawal ---------------------------------------------------------------------------
    @router.post("/admin/enrol/{employee_no}/withdraw", response_class=HTMLResponse)
    async def withdraw(request: Request, employee_no: str) -> Response:
        checked = await confirmed_post(request, employee_no, "confirm_withdraw", "enrol.withdraw.mismatch")
        if isinstance(checked, Response):
            return checked
        session, _ = checked
        try:
            await run_in_threadpool(enroller.withdraw_consent, employee_no, actor=session.actor)
        except InputError as exc:
            return employee_page(request, session, employee_no, error=f"enrol.withdraw.{exc.code}", status=409)
        return redirect(request, f"/admin/enrol/{quote(employee_no)}?withdrawn=1")

    # -- kiosk PIN (1:1 mode) -------------------------------------------------------------------------
    @router.post("/admin/enrol/{employee_no}/pin", response_class=HTMLResponse)
    async def pin(request: Request, employee_no: str) -> Response:
        """Set (typed twice) or clear the employee's keypad PIN. Only its scrypt hash is kept; the PIN is
        never echoed back, logged or audited (device/store/pins.py)."""
        checked = await employee_post(request, employee_no)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        if form.get("action") == "clear":
            await run_in_threadpool(clear_pin, enroller.store, employee_no, at=enroller.clock.now(),
                                    actor=session.actor)
            return redirect(request, f"/admin/enrol/{quote(employee_no)}?pin-cleared=1")
        if form.get("pin", "") != form.get("pin_again", ""):
            return employee_page(request, session, employee_no, error="enrol.pin.mismatch", status=400)
        try:
            await run_in_threadpool(set_pin, enroller.store, employee_no, form.get("pin", ""),
                                    at=enroller.clock.now(), actor=session.actor)
        except InputError:
            return employee_page(request, session, employee_no, error="enrol.pin.format", status=400)
        return redirect(request, f"/admin/enrol/{quote(employee_no)}?pin-set=1")

    # -- punch snapshots (disputes) -------------------------------------------------------------------
    @router.get("/admin/enrol/{employee_no}/snapshots/{punch_id}")
    async def snapshot(request: Request, employee_no: str, punch_id: int) -> Response:
        session = current(request)
        if session is None:
            return redirect(request, "/admin/login")
        if snapshots is None:
            return render(request, "admin_message.html", session, status=404, key="enrol.snapshot.missing", values={})
        try:
            jpeg = await run_in_threadpool(snapshots.view, punch_id, employee_no=employee_no, actor=session.actor)
        except StoreError:
            return render(request, "admin_message.html", session, status=409, key="enrol.snapshot.damaged", values={})
        if jpeg is None:
            return render(request, "admin_message.html", session, status=404, key="enrol.snapshot.missing", values={})
        # Decrypted for this response only: never cached by the browser or a proxy, never saved in clear.
        return Response(jpeg, media_type="image/jpeg", headers={
            "Cache-Control": "no-store", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
            "Content-Disposition": f'inline; filename="punch-{punch_id}.jpg"',
        })

    return router
