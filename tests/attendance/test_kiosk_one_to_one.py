"""1:1 mode's bookkeeping in the kiosk loop over a real store (scripted frame analyses, as in
test_kiosk_loop.py): nothing is analysed without a claim, the claim picks the one person who can be
punched, it ends with the punch, a mismatch, a spoof or its timeout, and buttons mode still works."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.clock import FakeClock
from core.errors import InputError
from device.attendance.claims import ClaimDesk
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.outcomes import Claimed, ClaimRefused, Punched, Spoof, Waiting
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.config.device import AttendanceSection, ClaimSection
from device.hardware.badge import FakeBadgeReader
from device.hardware.camera_fake import FakeCamera
from device.store import Store, open_store
from device.store import employees as repo
from tests.attendance.scripted import Buttons, OneHotGallery, RecordingFeedback, ScriptedAnalyser, person

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 8, 0, tzinfo=ZONE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "d.db")
    for no, name in (("E1", "Li Lei"), ("E2", "Han Meimei")):
        repo.upsert_employee(s, no, name, START, "admin")
    yield s
    s.close()


def make_kiosk(store: Store, script: list[object], clock: FakeClock, *, claim: dict[str, object] | None = None,
               attendance: dict[str, object] | None = None, **kw: object) -> tuple[Kiosk, RecordingFeedback]:
    gallery = OneHotGallery(["E1", "E2"])
    feedback = RecordingFeedback()
    settings = ClaimSection.model_validate({"timeout_seconds": 10, "keypad_prefix": "E", **(claim or {})})
    desk = ClaimDesk(settings, store=store, enrolled=lambda no: no in gallery, monotonic_ns=clock.monotonic_ns)
    kiosk = Kiosk(
        device_id="gate-1",
        camera=FakeCamera(paced=False, frames=100, width=160, height=120),
        pipeline=ScriptedAnalyser(script),  # type: ignore[arg-type]
        gallery=gallery,
        decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(AttendanceSection.model_validate(attendance or {}), ZONE),
        store=store,
        clock=clock,
        feedback=feedback,
        screen=KioskScreen(device_name="Gate", default_language="en", monotonic_ns=clock.monotonic_ns),
        models={"embedder": "test"},
        zone=ZONE,
        claims=desk,
        **kw,  # type: ignore[arg-type]
    )
    return kiosk, feedback


def punched(store: Store) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in store.conn.execute("SELECT employee_no, source FROM punches ORDER BY id")]


def test_without_a_claim_nobody_is_analysed_or_punched(store: Store) -> None:
    clock = FakeClock(START)
    script = [person("E1")] * 5
    kiosk, _ = make_kiosk(store, script, clock)
    counters = kiosk.run(max_frames=5)
    assert punched(store) == [] and counters.frames == 5
    assert len(kiosk.pipeline.script) == 5  # type: ignore[attr-defined]  # no frame was even analysed
    assert kiosk.screen.state()["guidance"] == "enter-number"


def test_the_claimed_person_is_punched_once_and_the_claim_is_used_up(store: Store) -> None:
    clock = FakeClock(START)
    kiosk, feedback = make_kiosk(store, [person("E1")] * 6, clock)
    assert kiosk.claim("1") == Claimed("E1", "keypad", 10)
    counters = kiosk.run(max_frames=3)
    assert punched(store) == [("E1", "keypad+face")] and feedback.calls == ["accepted"]
    assert kiosk.claims is not None and kiosk.claims.current() is None
    kiosk.run(max_frames=3)  # still standing there: without a new claim, nothing more happens
    assert punched(store) == [("E1", "keypad+face")]
    assert counters.claims == 1 and counters.punches == 1
    assert kiosk.screen.state()["guidance"] == "enter-number"


def test_another_face_than_the_claimed_one_is_refused_and_counted(store: Store) -> None:
    clock = FakeClock(START)
    kiosk, feedback = make_kiosk(store, [person("E2")] * 3 + [person(None)] * 3, clock)
    kiosk.claim("1")
    outcomes = [kiosk.process(kiosk.camera.read().image) for _ in range(3)]  # type: ignore[union-attr]
    assert outcomes[-1] == ClaimRefused("face-mismatch", "E1")
    kiosk.claim("1")
    outcomes = [kiosk.process(kiosk.camera.read().image) for _ in range(3)]  # type: ignore[union-attr]
    assert outcomes[-1] == ClaimRefused("face-mismatch", "E1")  # a face matching nobody: same answer
    assert punched(store) == [] and feedback.calls == ["rejected", "rejected"]
    assert kiosk.counters().claims_refused == {"face-mismatch": 2}
    state = kiosk.screen.state()
    assert state["banner"]["tone"] == "error" and state["banner"]["message"]["zh-CN"] == "人脸与工号 E1 不符，未打卡"


def test_a_new_claim_starts_the_decision_afresh(store: Store) -> None:
    # E2 has half-confirmed frames for E2's own claim; then E1 claims: E2's frames must not count for E1.
    clock = FakeClock(START)
    kiosk, _ = make_kiosk(store, [person("E2")] * 2 + [person("E1")] * 3, clock)
    kiosk.claim("2")
    kiosk.run(max_frames=2)
    kiosk.claim("1")
    outcomes = [kiosk.process(kiosk.camera.read().image) for _ in range(3)]  # type: ignore[union-attr]
    assert isinstance(outcomes[-1], Punched) and outcomes[-1].employee_no == "E1"
    assert [isinstance(o, Waiting) for o in outcomes[:2]] == [True, True]  # three fresh frames were needed


def test_a_claim_times_out_and_says_so_once(store: Store) -> None:
    clock = FakeClock(START)
    kiosk, _ = make_kiosk(store, [], clock)
    kiosk.claim("1")
    clock.advance(11)
    frame = kiosk.camera.read()
    assert frame is not None
    assert kiosk.process(frame.image) == ClaimRefused("timeout", "E1")
    assert kiosk.process(frame.image) == Waiting("enter-number")
    assert kiosk.counters().claims_refused == {"timeout": 1}


def test_a_spoof_ends_the_claim_as_a_failure(store: Store) -> None:
    clock = FakeClock(START)
    kiosk, _ = make_kiosk(store, [person("E1", live=0.1)] * 3, clock, claim={"max_failures": 1})
    kiosk.claim("1")
    outcomes = [kiosk.process(kiosk.camera.read().image) for _ in range(3)]  # type: ignore[union-attr]
    assert isinstance(outcomes[-1], Spoof)
    assert kiosk.claim("1") == ClaimRefused("locked", None, 300)  # one failure allowed in the window
    assert punched(store) == []


def test_badge_claims_are_read_by_the_loop_and_buttons_still_choose_the_direction(store: Store) -> None:
    clock = FakeClock(START)
    buttons = Buttons()
    badge = FakeBadgeReader(["E2"])
    kiosk, _ = make_kiosk(store, [person("E2")] * 5, clock, badge=badge, directions=buttons,
                          claim={"keypad": False, "badge": "fake", "badge_device": "/dev/null"},
                          attendance={"direction": "buttons"})
    outcomes = [kiosk.process(kiosk.camera.read().image) for _ in range(3)]  # type: ignore[union-attr]
    assert outcomes[-1] == Waiting("press-in-out")
    buttons.pressed = "out"
    kiosk.run(max_frames=1)
    assert punched(store) == [("E2", "badge+button+face")]
    row = store.conn.execute("SELECT direction FROM punches").fetchone()
    assert row[0] == "out"


def test_claims_are_refused_in_1_to_n_mode(store: Store) -> None:
    clock = FakeClock(START)
    kiosk, _ = make_kiosk(store, [], clock)
    kiosk.claims = None
    with pytest.raises(InputError, match="1:N mode"):
        kiosk.claim("1")
