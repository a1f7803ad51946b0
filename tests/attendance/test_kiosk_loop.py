"""The kiosk loop's bookkeeping over a real store: punch + outbox rows in one transaction, feedback,
counters, debounce across visits, buttons mode, and a failed write that must not say OK."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.clock import FakeClock
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.outcomes import Debounced, Punched, PunchFailed, Waiting
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.config.device import AttendanceSection
from device.hardware.camera_fake import FakeCamera
from device.store import Store, open_store
from device.store import employees as repo
from tests.attendance.scripted import (
    NOBODY,
    Buttons,
    OneHotGallery,
    RecordingFeedback,
    ScriptedAnalyser,
    person,
    poor,
)

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 8, 0, tzinfo=ZONE)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(tmp_path / "d.db")
    for no, name in (("E1", "Li Lei"), ("E2", "Han Meimei")):
        repo.upsert_employee(s, no, name, START, "admin")
    yield s  # type: ignore[misc]
    s.close()


def make_kiosk(store: Store, script: list[object], clock: FakeClock, **kw: object) -> tuple[Kiosk, RecordingFeedback]:
    feedback = RecordingFeedback()
    attendance = AttendanceSection.model_validate(kw.pop("attendance", {}))
    kiosk = Kiosk(
        device_id="gate-1",
        camera=FakeCamera(paced=False, frames=len(script), width=160, height=120),
        pipeline=ScriptedAnalyser(script),  # type: ignore[arg-type]
        gallery=OneHotGallery(["E1", "E2"]),
        decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(attendance, ZONE),
        store=store,
        clock=clock,
        feedback=feedback,
        screen=KioskScreen(device_name="Gate", default_language="en", monotonic_ns=clock.monotonic_ns),
        models={"embedder": "dlib-resnet-test", "detector": "yunet-test"},
        zone=ZONE,
        **kw,  # type: ignore[arg-type]
    )
    return kiosk, feedback


def test_punches_are_stored_with_outbox_row_and_everything_a_record_carries(store: Store) -> None:
    clock = FakeClock(START.astimezone(ZoneInfo("UTC")), mono_ns=5_000, is_synced=False)
    script = [person("E1")] * 4 + [NOBODY] + [person(None)] * 3 + [poor("blurred")] * 2 + [poor("too-dark")]
    kiosk, feedback = make_kiosk(store, script, clock)
    counters = kiosk.run(stop_at_end=True)
    assert counters.frames == len(script) and counters.punches == 1 and counters.unknown == 1
    assert dict(counters.poor_image) == {"blurred": 1, "too-dark": 1}  # per change of reason, not per frame
    assert feedback.calls == ["accepted", "rejected"]
    row = store.conn.execute(
        "SELECT uid, employee_no, direction, work_day, device_time, monotonic_ns, clock_synced, source, match_score,"
        " liveness_score, models FROM punches"
    ).fetchone()
    uid, no, direction, day, device_time, mono, synced, source, score, live, models = row
    assert (no, direction, day, source, synced) == ("E1", "in", "2026-03-02", "face", 0)
    assert device_time == "2026-03-02T08:00:00+08:00" and mono == 5_000
    assert score == 0.9 and live == 0.95 and json.loads(models)["embedder"] == "dlib-resnet-test"
    out = store.conn.execute("SELECT type, ref, clock_synced, body FROM outbox").fetchall()
    assert [(t, r, c) for t, r, c, _ in out] == [("punch", uid, 0)]
    assert json.loads(out[0][3])["device_id"] == "gate-1"


def test_second_visit_alternates_and_a_quick_return_is_debounced(store: Store) -> None:
    clock = FakeClock(START, mono_ns=0)
    visit = [person("E1")] * 3 + [NOBODY]
    kiosk, _ = make_kiosk(store, visit * 3, clock)
    outcomes = []
    for i in range(3):
        outcomes += [kiosk.process(kiosk.camera.read().image) for _ in range(4)]  # type: ignore[union-attr]
        clock.advance(30 if i == 0 else 3600)
    decided = [o for o in outcomes if isinstance(o, Punched | Debounced)]
    assert [type(o).__name__ for o in decided] == ["Punched", "Debounced", "Punched"]
    assert [o.direction for o in decided] == ["in", "in", "out"]
    assert store.conn.execute("SELECT count(*) FROM punches").fetchone()[0] == 2


def test_buttons_mode_waits_for_a_press_then_punches_that_direction(store: Store) -> None:
    clock = FakeClock(START)
    buttons = Buttons()
    kiosk, feedback = make_kiosk(store, [person("E2")] * 6, clock, directions=buttons,
                                 attendance={"direction": "buttons"})
    outcomes = [kiosk.process(kiosk.camera.read().image) for _ in range(4)]  # type: ignore[union-attr]
    assert outcomes[2:] == [Waiting("press-in-out"), Waiting("press-in-out")]
    buttons.pressed = "out"
    punched = kiosk.process(kiosk.camera.read().image)  # type: ignore[union-attr]
    assert isinstance(punched, Punched) and punched.direction == "out" and punched.name == "Han Meimei"
    assert store.conn.execute("SELECT direction, source FROM punches").fetchall() == [("out", "button+face")]
    assert feedback.calls == ["accepted"]


def test_a_punch_that_cannot_be_stored_is_not_ok(store: Store) -> None:
    clock = FakeClock(START)
    kiosk, feedback = make_kiosk(store, [person("E1")] * 6, clock)
    # A real failure of the database: a trigger refuses every punch (as a full disk or a broken file would).
    store.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON punches BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    outcomes = [kiosk.process(kiosk.camera.read().image) for _ in range(3)]  # type: ignore[union-attr]
    assert isinstance(outcomes[2], PunchFailed) and feedback.calls == ["rejected"]
    assert store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    store.conn.execute("DROP TRIGGER refuse")
    retry = [kiosk.process(kiosk.camera.read().image) for _ in range(3)]  # type: ignore[union-attr]
    assert isinstance(retry[2], Punched)  # the person tries again and it works


def test_run_stops_on_the_stop_event(store: Store) -> None:
    clock = FakeClock(START)
    kiosk, _ = make_kiosk(store, [person("E1")] * 3, clock)
    stop = threading.Event()
    stop.set()
    assert kiosk.run(stop_event=stop).frames == 0
    assert kiosk.run(max_frames=2).frames == 2
