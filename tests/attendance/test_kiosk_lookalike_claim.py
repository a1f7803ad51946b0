"""1:N with claim.lookalike_fallback: a look-alike told "unknown (margin)" types their number and is
verified against that person only, over a real store, a real gallery, the real decision and claim desk
(the frame analyses are scripted: this checks the loop's bookkeeping, not the models)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.clock import FakeClock
from core.errors import InputError
from device.attendance.claims import ClaimDesk
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.outcomes import Claimed, ClaimRefused, Punched, Unknown, Waiting
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.config.device import AttendanceSection, ClaimSection
from device.hardware.camera_fake import FakeCamera
from device.store import Store, open_store
from device.store import employees as repo
from device.vision.gallery import Gallery
from device.vision.types import Face, QualityVerdict
from tests.attendance.scripted import Analysis, RecordingFeedback, ScriptedAnalyser

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 8, 0, tzinfo=ZONE)
BOX = (100.0, 80.0, 120.0, 140.0)


def unit(*parts: tuple[int, float]) -> np.ndarray:
    v = np.zeros(128, np.float32)
    for axis, value in parts:
        v[axis] = value
    return v / np.linalg.norm(v)


# The face in front of the camera scores 0.80 with E1 and 0.79 with E2: above the threshold (0.5) but
# inside the margin (0.05), so 1:N cannot tell them apart.
FACE = unit((0, 1.0))
E1 = unit((0, 0.80), (1, 0.6))
E2 = unit((0, 0.79), (2, float(np.sqrt(1 - 0.79**2))))


def frame() -> Analysis:
    return Analysis(Face(BOX, np.zeros((5, 2), np.float32), 0.99), QualityVerdict(True, None), 0.95, FACE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "d.db")
    for no, name in (("E1", "Li Lei"), ("E2", "Li Lei's brother")):
        repo.upsert_employee(s, no, name, START, "admin")
    yield s
    s.close()


def make_kiosk(store: Store, clock: FakeClock, *, fallback: bool = True) -> Kiosk:
    gallery = Gallery(threshold=0.5, margin=0.05)
    gallery.add("E1", E1[None])
    gallery.add("E2", E2[None])
    settings = ClaimSection.model_validate({"timeout_seconds": 10, "keypad_prefix": "E", "lookalike_fallback": True})
    desk = ClaimDesk(settings, store=store, enrolled=lambda no: no in gallery, monotonic_ns=clock.monotonic_ns)
    return Kiosk(
        device_id="gate-1",
        camera=FakeCamera(paced=False, frames=100, width=160, height=120),
        pipeline=ScriptedAnalyser([frame()] * 40),  # type: ignore[arg-type]
        gallery=gallery,
        decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(AttendanceSection.model_validate({}), ZONE),
        store=store,
        clock=clock,
        feedback=RecordingFeedback(),
        screen=KioskScreen(device_name="Gate", default_language="en", monotonic_ns=clock.monotonic_ns),
        models={"embedder": "test"},
        zone=ZONE,
        fallback=desk if fallback else None,
    )


def punched(store: Store) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in store.conn.execute("SELECT employee_no, source FROM punches ORDER BY id")]


def step(kiosk: Kiosk, frames: int) -> list[object]:
    return [kiosk.process(np.zeros((120, 160, 3), np.uint8)) for _ in range(frames)]


def test_the_look_alike_types_their_number_and_is_verified_against_that_person_only(store: Store) -> None:
    clock = FakeClock(START)
    kiosk = make_kiosk(store, clock)
    seen = step(kiosk, 6)  # a second look, then the margin unknown
    assert seen[2] == Waiting("look-again") and seen[5] == Unknown(reason="margin")
    assert kiosk.screen.state()["banner"] is not None and punched(store) == []
    assert kiosk.claim("1") == Claimed("E1", "keypad", 10.0)
    seen = step(kiosk, 3)
    assert isinstance(seen[2], Punched) and seen[2].employee_no == "E1"
    assert punched(store) == [("E1", "keypad+face")]
    assert step(kiosk, 2) == [Waiting("step-away")] * 2  # back to 1:N; the face stays decided


def test_claiming_the_other_look_alike_is_refused(store: Store) -> None:
    # The face is closer to E1: typing E2's number must not punch E2 (nor anyone).
    clock = FakeClock(START)
    kiosk = make_kiosk(store, clock)
    step(kiosk, 6)
    assert kiosk.claim("2") == Claimed("E2", "keypad", 10.0)
    seen = step(kiosk, 6)  # the claimed person is not the best match: a second look, then refused
    assert seen[2] == Waiting("look-again") and seen[5] == ClaimRefused("face-mismatch", "E2")
    assert punched(store) == []


def test_without_the_fallback_a_1n_kiosk_takes_no_number(store: Store) -> None:
    kiosk = make_kiosk(store, FakeClock(START), fallback=False)
    step(kiosk, 6)
    with pytest.raises(InputError):
        kiosk.claim("1")
    assert punched(store) == []
