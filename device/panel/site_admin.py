"""The admin panel of a running terminal: the enrolment pages plus dashboard, punches, settings,
diagnostics and audit log, wired to the terminal's own parts; and of a running booth: sign-in, accounts,
dashboard, booth sessions and audit log (a booth enrols no faces, so the pages that need it are not mounted).

Settings are applied by a clean restart: the terminal stops as on SIGTERM (the kiosk loop finishes its
frame, the courier, panel, camera, GPIO and store close) and ``run_device`` then re-executes the same
command (``os.execv``, see ``reexec``). Re-exec rather than "exit with a restart code": the process keeps
its PID, so it works the same under systemd (Type=notify: the new image says READY again; the unit's
Restart= policy is not needed), under the demo's supervisor (which treats an exit as a failure) and when
run by hand; and every part is built afresh from the saved file, exactly as at boot. Python opens files
close-on-exec, so nothing leaks into the new image.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from fastapi import APIRouter

from core.types import Image
from device.panel.admin_auth import AdminAuth, password_path
from device.panel.enrolment import enrolment_router
from device.panel.terminal_tools import RecentErrors, TerminalTools

log = logging.getLogger(__name__)
#: One handler per process, on the root logger (a second panel in the same process shares it).
_ERRORS = RecentErrors()


def recent_errors() -> RecentErrors:
    root = logging.getLogger()
    if _ERRORS not in root.handlers:
        root.addHandler(_ERRORS)
    return _ERRORS


def admin_router(terminal: Any, config_path: Path | None) -> APIRouter:
    """Every admin page of ``terminal`` (a ``device.runner.Terminal``, typed loosely: the runner imports this
    module); ``config_path``: its config file (None: settings cannot be saved)."""

    def frame() -> Image | None:
        frames = terminal.kiosk.borrow_frames(1, timeout_seconds=3.0)
        return frames[0] if frames else None

    def restart() -> None:
        log.info("restart requested from the admin panel (settings saved)")
        terminal.restart_requested = True
        terminal.stop_event.set()

    tools = TerminalTools(config=terminal.config, config_path=config_path, clock=terminal.clock,
                          feedback=terminal.gpio.feedback, frame=frame, restart=restart, errors=recent_errors())
    return enrolment_router(
        terminal.enroller,
        AdminAuth(password_path(terminal.config.device.state_dir)),
        default_language=terminal.config.device.language,
        camera=lambda employee_no, actor: terminal.enrol_from_camera(employee_no, actor=actor),
        snapshots=terminal.snapshots,
        tools=tools,
    )


def booth_admin_router(booth: Any) -> APIRouter:
    """The admin pages of ``booth`` (a ``device.booth.runner.BoothRunner``, typed loosely like the terminal):
    no enroller, camera frame, relay or buzzer; settings are not mounted, so nothing asks for a restart."""

    def restart() -> None:  # pragma: no cover - the settings page (the only caller) is not mounted on a booth
        log.info("stop requested from the admin panel")
        booth.stop_event.set()

    tools = TerminalTools(config=booth.config, config_path=None, clock=booth.clock, feedback=None,
                          frame=lambda: None, restart=restart, errors=recent_errors())
    return enrolment_router(None, AdminAuth(password_path(booth.config.device.state_dir)),
                            default_language=booth.config.device.language, tools=tools, store=booth.store)


def reexec() -> NoReturn:
    """Replace this process with the same command (after a clean stop)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])  # noqa: S606 - our own command line
