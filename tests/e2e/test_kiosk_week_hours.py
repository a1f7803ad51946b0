"""The kiosk card after a punch shows that person's hours this week (from this terminal's punches, in the
site's zone, in..out pairs; HR's timesheet is authoritative), in zh-CN and en, inside the 800x480 screen."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect, sync_playwright

from core.clock import FakeClock
from core.serve import BackgroundServer
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.attendance.week_hours import week_minutes
from device.config.device import AttendanceSection
from device.hardware.camera_fake import FakeCamera
from device.health import collect
from device.panel.app import create_app
from device.panel.kiosk import kiosk_router
from device.store import Store, open_store
from device.store import employees as repo
from device.store.punches import NewPunch, record_punch
from tests.attendance.scripted import NOBODY, OneHotGallery, RecordingFeedback, ScriptedAnalyser, person
from tests.e2e.test_kiosk_page import ARGS, CHROMIUM, free_port, step

ZONE = ZoneInfo("Asia/Shanghai")
_mono = itertools.count(1)


def earlier(store: Store, employee_no: str, direction: str, day: int, hhmm: str) -> None:
    moment = datetime(2026, 3, day, int(hhmm[:2]), int(hhmm[3:]), tzinfo=ZONE)
    record_punch(store, NewPunch(employee_no=employee_no, direction=direction,  # type: ignore[arg-type]
                                 work_day=moment.date().isoformat(), device_time=moment.isoformat(),
                                 device_time_ms=int(moment.timestamp() * 1000), monotonic_ns=next(_mono),
                                 clock_synced=True, source="face"), "gate-a")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Kiosk]]:
    clock = FakeClock(datetime(2026, 3, 4, 18, 0, 5, tzinfo=ZONE))  # Wednesday evening
    store = open_store(tmp_path / "d.db", check_same_thread=False)
    repo.upsert_employee(store, "E1", "李雷 Li Lei", clock.now(), "admin")
    for direction, day, hhmm in [("in", 1, "09:00"), ("out", 1, "17:00"),  # Sunday: last week's
                                 ("in", 2, "09:00"), ("out", 2, "18:00"),  # Monday 9 h
                                 ("in", 3, "09:00"), ("out", 3, "16:30"),  # Tuesday 7.5 h
                                 ("in", 4, "09:00")]:  # Wednesday morning: the kiosk's punch closes it
        earlier(store, "E1", direction, day, hhmm)
    earlier(store, "E2", "in", 2, "06:00")  # somebody else's hours are not theirs
    earlier(store, "E2", "out", 2, "23:00")
    screen = KioskScreen(device_name="Gate A", default_language="zh-CN", monotonic_ns=clock.monotonic_ns,
                         banner_seconds=30, week_minutes=lambda no, at: week_minutes(store, no, at))
    kiosk = Kiosk(
        device_id="gate-a",
        camera=FakeCamera(paced=False, frames=20, width=160, height=120),
        pipeline=ScriptedAnalyser([NOBODY] + [person("E1")] * 3),  # type: ignore[arg-type]
        gallery=OneHotGallery(["E1"]),
        decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(AttendanceSection(), ZONE),
        store=store, clock=clock, feedback=RecordingFeedback(), screen=screen, models={}, zone=ZONE,
    )
    app = create_app(health=lambda: collect("gate-a", store, tmp_path, clock),
                     extra_routers=[kiosk_router(screen, default_language="zh-CN")])
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url, kiosk
    finally:
        server.stop()
        store.close()


def test_the_card_after_a_punch_shows_hours_this_week(site: tuple[str, Kiosk], tmp_path: Path) -> None:
    url, kiosk = site
    kiosk.screen.set_status("running")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            page.goto(f"{url}/kiosk")
            step(kiosk, 4)  # nobody, then three agreeing live frames: punched out at 18:00:05
            expect(page.locator("#banner-direction")).to_have_text("签退")
            # Monday 9 h + Tuesday 7.5 h + today 09:00..18:00 (9 h) = 25.5 h; Sunday's and E2's are not counted.
            week = page.locator("#banner-week")
            expect(week).to_have_text("本周工时：25.5 小时（按本终端打卡计算，以人事工时表为准）")
            box = page.locator("#banner").bounding_box()
            assert box is not None and box["x"] + box["width"] <= 800 and box["y"] + box["height"] <= 480
            page.screenshot(path=tmp_path / "kiosk-week-hours-zh.png")
            page.locator("#lang").click()
            expect(week).to_have_text("This week: 25.5 h (this terminal's punches; HR's timesheet counts)")
            box = page.locator("#banner").bounding_box()
            assert box is not None and box["y"] + box["height"] <= 480
            page.screenshot(path=tmp_path / "kiosk-week-hours-en.png")
        finally:
            browser.close()
