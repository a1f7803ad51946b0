"""Diagnostics through the real devices: a camera snapshot (shown once, never stored), a door relay pulse
and a beep on the gpiozero devices the kiosk uses. Each test is audited."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

import base64

import cv2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import EdgehrError
from device.panel.admin_auth import Session
from device.panel.routes.admin import Panel
from device.panel.terminal_tools import TerminalTools
from device.store import audit

router = APIRouter()
TESTS = ("camera", "relay", "beep")


def _page(request: Request, panel: Panel, session: Session, tools: TerminalTools, *, status: int = 200,
          done: str = "", image: str = "", error: str = "") -> Response:
    return panel.render(request, "diagnostics.html", session, status=status, done=done, image=image, error=error,
                        gpio=tools.gpio_status(), gpio_config=tools.config.gpio)


@router.get("/admin/diagnostics", response_class=HTMLResponse)
def diagnostics_page(request: Request, panel: Panel) -> Response:
    checked = panel.terminal_view(request)
    if isinstance(checked, Response):
        return checked
    return _page(request, panel, *checked)


def _snapshot(tools: TerminalTools) -> str:
    """A camera frame as a JPEG data URI ("" when the camera gave none)."""
    frame = tools.frame()
    if frame is None:
        return ""
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode() if ok else ""


@router.post("/admin/diagnostics/{test}", response_class=HTMLResponse)
async def run_test(request: Request, test: str, panel: Panel) -> Response:
    checked = await panel.terminal_post(request)
    if isinstance(checked, Response):
        return checked
    session, tools, _ = checked
    if test not in TESTS:
        return panel.message(request, session, 404, "admin.page.unavailable")
    image = ""
    try:
        if test == "camera":
            image = await run_in_threadpool(_snapshot, tools)
        elif test == "relay":
            tools.gpio().open_door()
        else:
            tools.gpio().beep(1)
    except (EdgehrError, OSError) as exc:
        return _page(request, panel, session, tools, status=503, error=f"{type(exc).__name__}: {exc}")
    with panel.store.transaction() as conn:
        audit.record(conn, at=tools.clock.now(), actor=session.actor, action=f"diagnostics.{test}", subject="device",
                     detail={"result": "no frame" if test == "camera" and not image else "ok"})
    if test == "camera" and not image:
        return _page(request, panel, session, tools, status=503, error="diag.camera.none")
    return _page(request, panel, session, tools, done=test, image=image)
