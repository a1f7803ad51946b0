"""The kiosk page in Debian's Chromium at the terminal's 800x480: result banner and language switch."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core.clock import FakeClock
from core.serve import BackgroundServer
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.config.device import AttendanceSection
from device.hardware.camera_fake import FakeCamera
from device.health import collect
from device.panel.app import create_app
from device.panel.kiosk import kiosk_router
from device.store import employees as repo
from device.store import open_store
from tests.attendance.scripted import NOBODY, OneHotGallery, RecordingFeedback, ScriptedAnalyser, person

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ZONE = ZoneInfo("Asia/Shanghai")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Kiosk]]:
    clock = FakeClock(datetime(2026, 3, 2, 8, 30, 5, tzinfo=ZONE))
    store = open_store(tmp_path / "d.db", check_same_thread=False)
    repo.upsert_employee(store, "E1", "李雷 Li Lei", clock.now(), "admin")
    screen = KioskScreen(device_name="Gate A", default_language="zh-CN", monotonic_ns=clock.monotonic_ns,
                         banner_seconds=30)
    kiosk = Kiosk(
        device_id="gate-a",
        camera=FakeCamera(paced=False, frames=20, width=160, height=120),
        pipeline=ScriptedAnalyser([NOBODY] + [person("E1")] * 3 + [person(None)] * 3),  # type: ignore[arg-type]
        gallery=OneHotGallery(["E1"]),
        decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(AttendanceSection(), ZONE),
        store=store,
        clock=clock,
        feedback=RecordingFeedback(),
        screen=screen,
        models={},
        zone=ZONE,
    )
    app = create_app(
        health=lambda: collect("gate-a", store, tmp_path, clock),
        extra_routers=[kiosk_router(screen, default_language="zh-CN")],
    )
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url, kiosk
    finally:
        server.stop()
        store.close()


def step(kiosk: Kiosk, frames: int) -> None:
    for _ in range(frames):
        frame = kiosk.camera.read()
        assert frame is not None
        kiosk.process(frame.image)


def test_banner_after_a_punch_and_language_switch(site: tuple[str, Kiosk]) -> None:
    url, kiosk = site
    kiosk.screen.set_status("running")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page: Page = browser.new_page(viewport={"width": 800, "height": 480})
            page.goto(f"{url}/kiosk")
            step(kiosk, 1)
            expect(page.locator("#guidance")).to_have_text("请正视摄像头打卡")
            expect(page.locator("#banner")).to_be_hidden()
            step(kiosk, 3)  # three agreeing live frames: punched
            banner = page.locator("#banner")
            expect(banner).to_be_visible()
            expect(banner).to_have_class("banner ok")
            expect(page.locator("#banner-name")).to_have_text("李雷 Li Lei")
            expect(page.locator("#banner-direction")).to_have_text("签到")
            expect(page.locator("#banner-time")).to_have_text("08:30:05")
            expect(page.locator("#banner-message")).to_have_text("李雷 Li Lei，签到成功 08:30:05")
            # The banner fits the 800x480 screen.
            box = banner.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 800
            assert box["y"] + box["height"] <= 480
            page.locator("#lang").click()
            expect(page.locator("#banner-direction")).to_have_text("In")
            expect(page.locator("#banner-message")).to_have_text("李雷 Li Lei, clocked in at 08:30:05")
            expect(page.locator("#lang")).to_have_text("中文")
            assert page.evaluate("document.documentElement.lang") == "en"
            step(kiosk, 3)  # the same face keeps standing there: nothing new
            page.locator("#lang").click()
            expect(page.locator("#lang")).to_have_text("English")
        finally:
            browser.close()


def test_unknown_person_banner_is_red(site: tuple[str, Kiosk]) -> None:
    url, kiosk = site
    kiosk.screen.set_status("running")
    kiosk.pipeline = ScriptedAnalyser([person(None)] * 3)  # type: ignore[assignment]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            page.goto(f"{url}/kiosk?lang=en")
            step(kiosk, 3)
            expect(page.locator("#banner")).to_have_class("banner error")
            expect(page.locator("#banner-message")).to_have_text("Unknown person")
            expect(page.locator("#banner-name")).to_have_text("")
        finally:
            browser.close()


def test_stopped_kiosk_shows_out_of_order(site: tuple[str, Kiosk]) -> None:
    url, kiosk = site
    kiosk.screen.set_status("stopped")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            page.goto(f"{url}/kiosk?lang=en")
            expect(page.locator("#notice")).to_contain_text("This terminal is not working")
        finally:
            browser.close()
