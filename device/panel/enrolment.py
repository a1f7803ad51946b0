"""The admin enrolment pages: roster, consent, enrolment from photos or the kiosk camera, deletion,
consent withdrawal, the kiosk PIN, and the employee's punch snapshots (for disputes).

Server-rendered HTML in zh-CN and en, usable on the terminal's 800x480 screen and on a desktop. Every
page needs an admin session (device/panel/admin_auth.py); every form carries the session's CSRF token and
a cross-site Origin is refused. Photos go through the same Enroller as ``edgehr faces enrol`` (quality
gate, liveness and embedding live there, not here), are held in memory only and dropped after embedding.
A punch snapshot is decrypted in memory for each view, audited, and served with Cache-Control: no-store.

The routes live in device/panel/routes/, one module per resource; this module binds them to a terminal.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from core.i18n import Language
from core.uploads import DEFAULT_LIMITS, Limits
from device.attendance.enrolment import Enroller
from device.panel.admin_auth import AdminAuth
from device.panel.routes import (
    accounts,
    audit_log,
    booth_sessions,
    dashboard,
    diagnostics,
    employee,
    enrolment,
    login,
    pin,
    punches,
    removal,
    roster,
    settings,
    snapshots,
)
from device.panel.routes.admin import AdminPanel
from device.panel.routes.admin import CameraEnrol as CameraEnrol
from device.panel.routes.admin import consent_version as consent_version
from device.panel.terminal_tools import TerminalTools
from device.store.snapshots import SnapshotStore

#: In this order (the order of /openapi.json and of route matching).
_ROUTES = (login, roster, employee, enrolment, removal, pin, snapshots)
#: The running terminal's pages (with ``tools``).
_TERMINAL_ROUTES = (dashboard, punches, settings, diagnostics, audit_log, accounts, booth_sessions)


def enrolment_router(
    enroller: Enroller,
    auth: AdminAuth,
    *,
    default_language: Language,
    camera: CameraEnrol | None = None,
    limits: Limits = DEFAULT_LIMITS,
    snapshots: SnapshotStore | None = None,
    tools: TerminalTools | None = None,
) -> APIRouter:
    """``snapshots``: the device's punch snapshots (listed and shown per employee); None hides them.
    ``tools``: the running terminal's parts, which add the dashboard, punches, settings, diagnostics and
    audit pages."""
    panel = AdminPanel(enroller, auth, default_language, camera=camera, limits=limits, snapshots=snapshots,
                       tools=tools)
    router = APIRouter(dependencies=[Depends(panel.bind)])
    for module in _ROUTES + (_TERMINAL_ROUTES if tools is not None else ()):
        router.include_router(module.router)
    return router
