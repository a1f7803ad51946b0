"""Kiosk routes: state JSON, preview only when enabled (downscaled JPEG, kept only in memory), static files."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.clock import FakeClock
from device.attendance.outcomes import PoorImage, Punched, Spoof
from device.attendance.screen import KioskScreen
from device.panel.kiosk import kiosk_router

ZONE = ZoneInfo("Asia/Shanghai")


#: The kiosk browser runs on the terminal: a loopback client (the screen is served to no one else).
TERMINAL = ("127.0.0.1", 50000)
LAN = ("192.168.1.50", 50000)
TOKEN = "kiosk-token-0123456789abcdef"


def client(screen: KioskScreen, host: tuple[str, int] = TERMINAL, token: str | None = None) -> TestClient:
    app = FastAPI()
    app.include_router(kiosk_router(screen, default_language="zh-CN", access_token=token,
                                    metrics=lambda: {"punches": 1}))
    return TestClient(app, client=host)


def test_state_carries_guidance_and_banner_in_both_languages_until_it_expires() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=ZONE))
    screen = KioskScreen(device_name="Gate", default_language="zh-CN", monotonic_ns=clock.monotonic_ns,
                         banner_seconds=4)
    with client(screen) as c:
        screen.show(PoorImage("too-small"))
        state = c.get("/kiosk/state").json()
        assert state["guidance"] == "move-closer" and state["banner"] is None
        assert state["guidance_message"] == {"zh-CN": "请靠近一点", "en": "Please move closer"}
        screen.show(Punched("Li Lei", "E1", "out", clock.now(), 0.9, 0.99))
        banner = c.get("/kiosk/state").json()["banner"]
        assert banner["tone"] == "ok" and banner["direction"] == "out" and banner["time"] == "09:00:00"
        assert banner["direction_label"] == {"zh-CN": "签退", "en": "Out"}
        assert banner["message"]["en"] == "Li Lei, clocked out at 09:00:00"
        screen.show(Spoof(0.1))
        assert c.get("/kiosk/state").json()["banner"]["seq"] == banner["seq"] + 1
        clock.advance(5)
        assert c.get("/kiosk/state").json()["banner"] is None


def test_preview_is_off_unless_enabled_and_downscaled_when_on() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=ZONE))
    off = KioskScreen(device_name="", default_language="en", monotonic_ns=clock.monotonic_ns)
    frame = np.full((480, 640, 3), 90, np.uint8)
    off.offer_frame(frame)
    with client(off) as c:
        assert c.get("/kiosk/preview.jpg").status_code == 404
        assert 'id="preview"' not in c.get("/kiosk").text
    on = KioskScreen(device_name="", default_language="en", monotonic_ns=clock.monotonic_ns, preview=True)
    with client(on) as c:
        assert c.get("/kiosk/preview.jpg").status_code == 204  # no frame yet
        on.offer_frame(frame)
        response = c.get("/kiosk/preview.jpg")
        assert response.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (240, 320, 3)


def test_page_and_static_files_are_served_locally() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=ZONE))
    screen = KioskScreen(device_name="Gate A", default_language="zh-CN", monotonic_ns=clock.monotonic_ns)
    with client(screen) as c:
        page = c.get("/kiosk").text
        assert 'lang="zh-CN"' in page and "Gate A" in page and "http" not in page.split("<body")[1]
        assert '<html lang="en">' in c.get("/kiosk?lang=en").text
        assert c.get("/kiosk/static/kiosk.js").status_code == 200
        assert c.get("/kiosk/static/../app.py").status_code == 404


def test_the_screen_is_served_to_the_terminal_itself_or_with_the_kiosk_token() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=ZONE))
    screen = KioskScreen(device_name="Gate", default_language="en", monotonic_ns=clock.monotonic_ns, preview=True)
    screen.show(Punched("Li Lei", "E1", "in", clock.now(), 0.9, 0.99))
    paths = ("/kiosk", "/kiosk/state", "/kiosk/preview.jpg", "/kiosk/metrics", "/kiosk/static/kiosk.js")
    # Someone else on the LAN: no name, no number, no camera, whether a token is configured or not.
    for token in (None, TOKEN):
        with client(screen, LAN, token) as c:
            for path in paths:
                refused = c.get(path, headers={"X-Kiosk-Token": "kiosk-token-guess-0000000000"})
                assert refused.status_code == 403 and "kiosk.access_token" in refused.text, path
            assert c.get("/kiosk/state", params={"token": TOKEN}).status_code == 403  # only /kiosk takes ?token
    # The terminal's own browser needs nothing.
    with client(screen, ("::1", 50000)) as c:
        assert c.get("/kiosk/state").json()["banner"]["message"]["en"].startswith("Li Lei")
    # Another screen with the token: as a header, or once as ?token= on the page, which leaves a cookie.
    with client(screen, LAN, TOKEN) as c:
        assert c.get("/kiosk/metrics", headers={"X-Kiosk-Token": TOKEN}).json() == {"punches": 1}
        page = c.get("/kiosk", params={"token": TOKEN})
        assert page.status_code == 200 and "httponly" in page.headers["set-cookie"].lower()
        assert c.get("/kiosk/state").status_code == 200 and c.get("/kiosk/preview.jpg").status_code == 204
