"""The 1:1 keypad of the kiosk page in Debian's Chromium at the terminal's 800x480: employee number, PIN,
the claim waiting for the face, the punch banner, refusals in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core.clock import FakeClock
from core.serve import BackgroundServer
from device.attendance.claims import ClaimDesk
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.config.device import AttendanceSection, ClaimSection
from device.hardware.camera_fake import FakeCamera
from device.health import collect
from device.panel.app import create_app
from device.panel.kiosk import kiosk_router
from device.store import employees as repo
from device.store import open_store
from device.store.pins import set_pin
from tests.attendance.scripted import OneHotGallery, RecordingFeedback, ScriptedAnalyser, person
from tests.e2e.test_kiosk_page import ARGS, CHROMIUM, free_port

ZONE = ZoneInfo("Asia/Shanghai")


def make_site(tmp_path: Path, *, pin: bool, script: list[object]) -> Iterator[tuple[str, Kiosk]]:
    clock = FakeClock(datetime(2026, 3, 2, 8, 30, 5, tzinfo=ZONE))
    store = open_store(tmp_path / "d.db", check_same_thread=False)
    repo.upsert_employee(store, "E1", "李雷 Li Lei", clock.now(), "admin")
    repo.upsert_employee(store, "E2", "韩梅梅 Han Meimei", clock.now(), "admin")
    set_pin(store, "E1", "2468", at=clock.now(), actor="admin")
    gallery = OneHotGallery(["E1", "E2"])
    screen = KioskScreen(device_name="Gate A", default_language="zh-CN", monotonic_ns=clock.monotonic_ns,
                         banner_seconds=30)
    desk = ClaimDesk(ClaimSection(keypad_prefix="E", pin=pin), store=store, enrolled=lambda no: no in gallery,
                     monotonic_ns=clock.monotonic_ns)
    kiosk = Kiosk(
        device_id="gate-a", camera=FakeCamera(paced=False, frames=50, width=160, height=120),
        pipeline=ScriptedAnalyser(script),  # type: ignore[arg-type]
        gallery=gallery, decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(AttendanceSection(), ZONE), store=store, clock=clock, feedback=RecordingFeedback(),
        screen=screen, models={}, zone=ZONE, claims=desk,
    )
    app = create_app(
        health=lambda: collect("gate-a", store, tmp_path, clock),
        extra_routers=[kiosk_router(screen, default_language="zh-CN", claims=desk, claim=kiosk.claim)],
    )
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    kiosk.screen.set_status("running")
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


def tap(page: Page, keys: str) -> None:
    for key in keys:
        page.locator(f'#keypad-keys button[data-key="{key}"]').click()


@pytest.fixture
def pin_site(tmp_path: Path) -> Iterator[tuple[str, Kiosk]]:
    yield from make_site(tmp_path, pin=True, script=[person("E1")] * 3)


@pytest.fixture
def plain_site(tmp_path: Path) -> Iterator[tuple[str, Kiosk]]:
    yield from make_site(tmp_path, pin=False, script=[person("E2")] * 3)


def test_number_then_pin_then_face_punches_and_everything_fits_800x480(pin_site: tuple[str, Kiosk]) -> None:
    url, kiosk = pin_site
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            page.goto(f"{url}/kiosk?lang=en")
            step(kiosk, 1)  # no claim yet: nobody is looked for
            expect(page.locator("#guidance")).to_have_text("Please enter your employee number")
            for key in page.locator("#keypad button").all():
                box = key.bounding_box()
                assert box is not None and box["x"] >= 0 and box["y"] >= 0
                assert box["x"] + box["width"] <= 800 and box["y"] + box["height"] <= 480
                assert box["height"] >= 56 and box["width"] >= 56  # a finger's width
            tap(page, "1")
            page.locator("#key-ok").click()
            expect(page.locator("#keypad-label")).to_have_text("PIN")
            tap(page, "1357")
            expect(page.locator("#keypad-display")).to_have_text("••••")  # the PIN is never shown
            page.locator("#key-ok").click()
            expect(page.locator("#keypad-message")).to_have_text("Employee number or PIN is wrong")
            expect(page.locator("#keypad-label")).to_have_text("Employee number")
            expect(page.locator("#keypad-display")).to_have_text("")
            tap(page, "1")
            page.locator("#key-ok").click()
            tap(page, "24689")  # a 5th digit, then delete it
            page.locator("#key-back").click()
            page.locator("#key-ok").click()
            pending = page.locator("#claim-pending")
            expect(pending).to_be_visible()
            expect(page.locator("#claim-text")).to_have_text("No. E1: please look at the camera")
            expect(page.locator("#keypad")).to_be_hidden()
            step(kiosk, 3)  # the claimed person's face over three frames
            expect(page.locator("#banner")).to_have_class("banner ok")
            expect(page.locator("#banner-message")).to_have_text("李雷 Li Lei, clocked in at 08:30:05")
            expect(pending).to_be_hidden()
            expect(page.locator("#keypad")).to_be_visible()  # ready for the next person
            banner = page.locator("#banner").bounding_box()
            assert banner is not None and banner["x"] + banner["width"] <= 800 and banner["y"] + banner["height"] <= 480
            page.locator("#lang").click()
            expect(page.locator("#keypad-label")).to_have_text("工号")
            expect(page.locator("#key-ok")).to_have_text("确定")
        finally:
            browser.close()
    rows = kiosk.store.conn.execute("SELECT employee_no, source FROM punches").fetchall()
    assert rows == [("E1", "keypad+face")]


def test_unknown_number_and_a_face_that_is_not_the_claimed_one_zh(plain_site: tuple[str, Kiosk]) -> None:
    url, kiosk = plain_site
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            page.goto(f"{url}/kiosk")
            tap(page, "9")
            page.locator("#key-ok").click()
            expect(page.locator("#keypad-message")).to_have_text("工号不存在")
            expect(page.locator("#banner-message")).to_have_text("工号不存在")
            tap(page, "1")
            page.locator("#key-ok").click()
            expect(page.locator("#claim-text")).to_have_text("工号 E1：请正视摄像头")
            step(kiosk, 3)  # E2 stands in front of the camera
            expect(page.locator("#banner")).to_have_class("banner error")
            expect(page.locator("#banner-message")).to_have_text("人脸与工号 E1 不符，未打卡")
            expect(page.locator("#keypad")).to_be_visible()
            tap(page, "2")
            page.locator("#key-ok").click()
            expect(page.locator("#claim-pending")).to_be_visible()
            page.locator("#key-cancel").click()
            expect(page.locator("#keypad")).to_be_visible()
            expect(page.locator("#claim-pending")).to_be_hidden()
        finally:
            browser.close()
    assert kiosk.store.conn.execute("SELECT count(*) FROM punches").fetchone()[0] == 0
    assert kiosk.counters().claims_refused == {"unknown-number": 1, "face-mismatch": 1}
