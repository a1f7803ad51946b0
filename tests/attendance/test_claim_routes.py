"""The kiosk page's claim routes (1:1): JSON only, from the terminal itself only, answers in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.clock import FakeClock
from device.attendance.claims import ClaimDesk
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.config.device import AttendanceSection, ClaimSection
from device.hardware.camera_fake import FakeCamera
from device.panel.kiosk import kiosk_router
from device.store import employees as repo
from device.store import open_store
from device.store.pins import set_pin
from tests.attendance.scripted import OneHotGallery, RecordingFeedback, ScriptedAnalyser

ZONE = ZoneInfo("Asia/Shanghai")
LOCAL = ("127.0.0.1", 51000)


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "d.db", check_same_thread=False)
    repo.upsert_employee(store, "E1", "Li Lei", clock.now(), "admin")
    set_pin(store, "E1", "2468", at=clock.now(), actor="admin")
    gallery = OneHotGallery(["E1"])
    settings = ClaimSection(keypad_prefix="E", pin=True, max_failures=3)
    screen = KioskScreen(device_name="Gate", default_language="zh-CN", monotonic_ns=clock.monotonic_ns)
    yield Kiosk(
        device_id="gate-1", camera=FakeCamera(paced=False, frames=1), pipeline=ScriptedAnalyser([]),  # type: ignore[arg-type]
        gallery=gallery, decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(AttendanceSection(), ZONE), store=store, clock=clock, feedback=RecordingFeedback(),
        screen=screen, models={}, zone=ZONE,
        claims=ClaimDesk(settings, store=store, enrolled=lambda no: no in gallery, monotonic_ns=clock.monotonic_ns),
    )
    store.close()


def client(kiosk: Kiosk, host: tuple[str, int] = LOCAL) -> TestClient:
    app = FastAPI()
    app.include_router(kiosk_router(kiosk.screen, default_language="zh-CN", claims=kiosk.claims, claim=kiosk.claim))
    return TestClient(app, client=host)


def test_claim_with_pin_through_the_route(kiosk: Kiosk) -> None:
    with client(kiosk) as c:
        page = c.get("/kiosk").text
        assert 'data-mode="1:1"' in page and 'id="keypad"' in page and 'data-pin="on"' in page
        answer = c.post("/kiosk/claim", json={"employee_no": "1", "pin": None})
        assert answer.status_code == 401 and answer.json()["code"] == "pin-required"
        answer = c.post("/kiosk/claim", json={"employee_no": "1", "pin": "1111"})
        assert answer.status_code == 400
        assert answer.json()["message"] == {"zh-CN": "工号或密码错误", "en": "Employee number or PIN is wrong"}
        answer = c.post("/kiosk/claim", json={"employee_no": "1", "pin": "2468"})
        assert answer.status_code == 200 and answer.json()["employee_no"] == "E1"
        state = c.get("/kiosk/state").json()
        assert state["claim"]["pending"]["employee_no"] == "E1" and state["guidance"] == "look-at-camera"
        assert state["banner"] is None  # the wrong PIN's banner went with the new claim
        assert c.post("/kiosk/claim/cancel", json={}).json() == {"ok": True, "cancelled": True}
        assert c.get("/kiosk/state").json()["claim"]["pending"] is None


def test_failed_claims_lock_the_route_with_retry_after(kiosk: Kiosk) -> None:
    with client(kiosk) as c:
        for _ in range(3):
            assert c.post("/kiosk/claim", json={"employee_no": "7", "pin": "0000"}).status_code == 400
        answer = c.post("/kiosk/claim", json={"employee_no": "1", "pin": "2468"})  # right PIN, but locked
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "300"
        assert answer.json()["message"]["en"] == "Too many failed attempts. Please try again in 300 s."
        assert c.get("/kiosk/state").json()["claim"]["locked_seconds"] == 300
    assert kiosk.counters().claims_refused == {"wrong-pin": 3, "locked": 1}


def test_claims_only_from_the_terminal_itself_and_only_as_json(kiosk: Kiosk) -> None:
    with client(kiosk, ("192.168.1.50", 40000)) as c:
        assert c.post("/kiosk/claim", json={"employee_no": "1", "pin": "2468"}).status_code == 403
    with client(kiosk) as c:
        form = c.post("/kiosk/claim", data={"employee_no": "1", "pin": "2468"})
        assert form.status_code == 415  # a cross-site form cannot post JSON without a CORS pre-flight
        foreign = c.post("/kiosk/claim", json={"employee_no": "1", "pin": "2468"},
                         headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        assert c.post("/kiosk/claim", json=["1"]).status_code == 422
        assert c.post("/kiosk/claim", json={"employee_no": 1}).status_code == 422
        assert c.post("/kiosk/claim", json={"employee_no": "1" * 65}).status_code == 422
    assert kiosk.claims is not None and kiosk.claims.current() is None  # nothing got through


def test_1_to_n_page_has_no_keypad_and_no_claim_route(kiosk: Kiosk) -> None:
    app = FastAPI()
    app.include_router(kiosk_router(kiosk.screen, default_language="en"))
    with TestClient(app, client=LOCAL) as c:
        page = c.get("/kiosk").text
        assert 'data-mode="1:N"' in page and 'id="keypad"' not in page
        assert "claim" not in c.get("/kiosk/state").json()
        assert c.post("/kiosk/claim", json={"employee_no": "1"}).status_code in (404, 405)
