"""The head-turn challenge with REAL models on a REAL pose series: ORL's subject 1 was photographed
frontal and turned (the dataset's own pose series, no synthetic rotation). Replayed through the kiosk
loop (drills.vision.attempts' bench terminal: the product's Terminal, a real SQLite store, the camera
interface), the series passes the challenge and punches; the same person's still photo held for the
whole challenge does not: it times out as a counted, shown challenge failure, never a punch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.clock import FakeClock
from core.images import load_image
from device.attendance.outcomes import Outcome, Punched, Spoof, Waiting
from drills.vision.attempt_scenes import Person, _compose, empty_frame
from drills.vision.attempts import enrol, open_bench_terminal
from tests.attendance.real_vision import FACES, requires_vision

pytestmark = requires_vision
ORL = FACES / "orl"


def scene(subject: int, photo: int) -> Any:
    return _compose(load_image(ORL / f"s{subject}" / f"{photo}.pgm"), 2.6, (0.0, 0.0))


def replay(terminal: Any, camera: Any, frames: list[Any]) -> list[Outcome]:
    camera.load(frames)
    outcomes = []
    while (frame := camera.read()) is not None:
        outcomes.append(terminal.kiosk.process(frame.image))
    return outcomes


def test_a_real_pose_series_passes_the_turn_challenge_and_a_still_photo_does_not(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    terminal, camera = open_bench_terminal(tmp_path, clock, "turn")
    try:
        people = [Person(f"ORL{n:02d}", "orl", tuple(ORL / f"s{n}" / f"{i}.pgm" for i in (1, 3, 8)), (), 2.6)
                  for n in (1, 2, 3)]
        assert enrol(terminal, people) == {"ORL01", "ORL02", "ORL03"}
        # Frontal photo 7 (yaw about 3 degrees) until the identity is confirmed, then the head turns:
        # photo 10 (about 14 degrees), photo 5 (about 19 degrees).
        series = [scene(1, 7)] * 4 + [scene(1, 10), scene(1, 5), scene(1, 5)] + [empty_frame()]
        outcomes = replay(terminal, camera, series)
        assert Waiting("turn-head") in outcomes, outcomes  # the kiosk asked for the turn (its prompt)
        punched = [o for o in outcomes if isinstance(o, Punched)]
        assert [p.employee_no for p in punched] == ["ORL01"], outcomes

        clock.advance(120)
        # The same frontal photo, held still for longer than the challenge allows: no punch, a counted failure.
        still = replay(terminal, camera, [scene(1, 7)] * 40 + [empty_frame()])
        assert not [o for o in still if isinstance(o, Punched)], still
        failed = [o for o in still if isinstance(o, Spoof)]
        assert failed and failed[0].reason == "challenge", still
        counters = terminal.kiosk.counters()
        assert counters.spoof_by_reason["challenge"] == 1
        assert terminal.screen.state()["guidance"] in ("turn-head", "step-away", "idle")
    finally:
        terminal.stop()
