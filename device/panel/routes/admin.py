"""What every admin page shares: the ``AdminPanel`` (the enroller, admin password, optional kiosk camera,
upload limits and punch snapshots of this terminal), rendering, redirects, and the checks on a form.

``enrolment_router`` binds its ``AdminPanel`` to each request it routes (``AdminPanel.bind``, a router-wide
dependency that FastAPI runs before a route's own); a route declares ``panel: Panel`` to receive it. The
routers themselves are module-level and hold nothing: two panels in one process (as the tests build)
share them.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from core.i18n import Language, t
from core.uploads import DEFAULT_LIMITS, Limits
from device.attendance.enrolment import PURPOSE, Enroller, EnrolmentReport, roster
from device.panel.admin_auth import COOKIE, AdminAuth, Session, csrf_ok
from device.panel.language import pick_language
from device.panel.terminal_tools import TerminalTools
from device.store import Store
from device.store.employees import consent_history
from device.store.pins import pin_set_at
from device.store.snapshots import SnapshotStore

EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_NAME = 80
#: Small forms (login, consent, delete) are url-encoded and never larger than this.
MAX_FORM_BYTES = 16 * 1024

#: Punches with a snapshot listed on an employee's page (newest first).
SNAPSHOTS_LISTED = 20

#: (employee_no, actor) -> the report of an enrolment from the kiosk camera (the terminal's own camera).
CameraEnrol = Callable[[str, str], EnrolmentReport]

_templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


def consent_version() -> str:
    """The version of the consent text the page shows: changes whenever either language's text changes."""
    digest = hashlib.sha256(
        (t("consent.face.text", "en") + "\n" + t("consent.face.text", "zh-CN")).encode("utf-8")
    ).hexdigest()
    return f"face-1.{digest[:8]}"


class Refused(Exception):
    """A request the page answers with a message (in the page's language) and an HTTP status."""

    def __init__(self, key: str, status: int, **values: object) -> None:
        super().__init__(key)
        self.key, self.status, self.values = key, status, values


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def small_form(request: Request) -> dict[str, str]:
    """A url-encoded form of at most MAX_FORM_BYTES (read in chunks: a larger body is refused unread)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise Refused("upload.upload-not-multipart", 400)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Refused("upload.upload-field-too-long", 413)
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


@dataclass(frozen=True)
class AdminPanel:
    """The admin pages of one terminal or booth. ``enroller`` None (a booth): no face enrolment, and the
    enrolment, roster, punches, PIN, settings and diagnostics routes are not mounted (``data_store`` is then
    the device's store); ``camera`` None: no kiosk-camera enrolment; ``snapshots`` None: punch snapshots are
    neither listed nor shown."""

    enroller: Enroller | None
    auth: AdminAuth
    default_language: Language
    camera: CameraEnrol | None = None
    limits: Limits = DEFAULT_LIMITS
    snapshots: SnapshotStore | None = None
    #: The running terminal's config, clock, GPIO and camera: the dashboard, punches, settings, diagnostics
    #: and audit pages (None: only the enrolment pages, as the enrolment tests build the panel).
    tools: TerminalTools | None = None
    #: The device's store where there is no enroller (a booth).
    data_store: Store | None = None
    #: The pages this panel mounts, as (path, catalog key) for the nav (only what is mounted is shown).
    nav: tuple[tuple[str, str], ...] = ()

    @property
    def store(self) -> Store:
        store = self.enroller.store if self.enroller is not None else self.data_store
        if store is None:  # pragma: no cover - enrolment_router refuses such a panel
            raise RuntimeError("an admin panel needs an enroller or a store")
        return store

    @property
    def enrol(self) -> Enroller:
        """The enroller, for the routes mounted only where there is one (never called on a booth)."""
        if self.enroller is None:  # pragma: no cover - those routes are not mounted without one
            raise RuntimeError("face enrolment is not part of this device")
        return self.enroller

    @property
    def home(self) -> str:
        return "/admin/dashboard" if self.tools is not None else "/admin/enrol"

    def bind(self, request: Request) -> None:
        """The router-wide dependency that hands this panel to the request's route (``current_panel``)."""
        request.state.admin_panel = self

    # -- answers --------------------------------------------------------------------------------------
    def render(
        self, request: Request, name: str, session: Session | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        language = pick_language(request, self.default_language)
        other: Language = "en" if language == "zh-CN" else "zh-CN"
        response = _templates.TemplateResponse(
            request,
            name,
            {
                "lang": language,
                "other": other,
                "t": lambda key, **v: t(key, language, **v),
                "t_other": lambda key, **v: t(key, other, **v),
                "csrf": session.csrf if session else "",
                "session": session,
                "can_change": session is not None and session.can_change,
                "full": self.tools is not None,
                "nav": self.nav,
                "path": request.url.path,
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

    def message(self, request: Request, session: Session | None, status: int, key: str, **values: object) -> Response:
        return self.render(request, "admin_message.html", session, status=status, key=key, values=values)

    def redirect(self, request: Request, path: str) -> RedirectResponse:
        language = pick_language(request, self.default_language)
        joiner = "&" if "?" in path else "?"
        return RedirectResponse(f"{path}{joiner}lang={language}", status_code=303)

    def refused(self, request: Request, error: Refused) -> Response:
        if error.status == 401:
            return self.redirect(request, "/admin/login")
        return self.message(request, self.session(request), error.status, error.key, **error.values)

    # -- sessions and forms ---------------------------------------------------------------------------
    def session(self, request: Request) -> Session | None:
        return self.auth.session(request.cookies.get(COOKIE))

    def check_post(self, request: Request, sent_csrf: str | None, *, change: bool = True) -> Session:
        """The session of a POST, which must come from this panel's own pages with their CSRF token; a POST
        that changes anything (``change``: all but logout) needs an admin account (a viewer only sees)."""
        session = self.session(request)
        if session is None:
            raise Refused("admin.login.needed", 401)
        if not same_origin(request) or not csrf_ok(session, sent_csrf):
            raise Refused("admin.csrf", 403)
        if change and not session.can_change:
            raise Refused("admin.viewer.refused", 403)
        return session

    def terminal_view(self, request: Request) -> tuple[Session, TerminalTools] | Response:
        """A terminal page's GET: any signed-in account (viewers too) and the terminal's tools."""
        session = self.session(request)
        if session is None:
            return self.redirect(request, "/admin/login")
        if self.tools is None:
            return self.message(request, session, 404, "admin.page.unavailable")
        return session, self.tools

    async def terminal_post(self, request: Request) -> tuple[Session, TerminalTools, dict[str, str]] | Response:
        """A terminal page's form: admin account, same origin, CSRF, and the terminal's tools."""
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        if self.tools is None:
            return self.message(request, checked[0], 404, "admin.page.unavailable")
        return checked[0], self.tools, checked[1]

    async def checked_form(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        """A small form that changes something: admin session, same origin, CSRF; else the refusal page."""
        try:
            form = await small_form(request)
            return self.check_post(request, form.get("csrf")), form
        except Refused as exc:
            return self.refused(request, exc)

    async def employee_post(self, request: Request, employee_no: str) -> tuple[Session, dict[str, str]] | Response:
        """A small form about one employee: admin session, CSRF, and an employee this device knows."""
        try:
            form = await small_form(request)
            session = self.check_post(request, form.get("csrf"))
        except Refused as exc:
            return self.refused(request, exc)
        if self.employee_entry(employee_no) is None:
            return self.message(request, session, 404, "enrol.employee.unknown")
        return session, form

    async def confirmed_post(
        self, request: Request, employee_no: str, field: str, mismatch_key: str
    ) -> tuple[Session, dict[str, str]] | Response:
        """A destructive form's checks: ``employee_post``'s, and the employee number typed again into
        ``field`` (so a slip of the finger on the wrong row deletes nothing)."""
        checked = await self.employee_post(request, employee_no)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        if form.get(field, "").strip() != employee_no:
            return self.employee_page(request, session, employee_no, error=mismatch_key, status=400)
        return session, form

    # -- one employee ---------------------------------------------------------------------------------
    def employee_entry(self, employee_no: str) -> Any:
        return next((e for e in roster(self.store) if e.employee_no == employee_no), None)

    def employee_page(
        self, request: Request, session: Session, employee_no: str, *, report: EnrolmentReport | None = None,
        source: str = "", error: str = "", status: int = 200, notice: str = "",
    ) -> Response:
        entry = self.employee_entry(employee_no)
        if entry is None:
            return self.message(request, session, 404, "enrol.employee.unknown")
        store, limits = self.store, self.limits
        return self.render(
            request, "enrol_employee.html", session, status=status, entry=entry, report=report, source=source,
            error=error, camera=self.camera is not None, here=f"/admin/enrol/{quote(employee_no)}",
            needed=self.enrol.settings.min_good_images, limits=limits, max_mb=limits.max_file_bytes // (1024 * 1024),
            version=consent_version(), notice=notice, consents=consent_history(store, employee_no, PURPOSE),
            snapshots=None if self.snapshots is None else self.snapshots.recent(employee_no, SNAPSHOTS_LISTED),
            pin_set_at=pin_set_at(store, employee_no),
        )


def current_panel(request: Request) -> AdminPanel:
    panel: AdminPanel = request.state.admin_panel
    return panel


#: A route parameter annotated with this receives the terminal's AdminPanel.
Panel = Annotated[AdminPanel, Depends(current_panel)]
