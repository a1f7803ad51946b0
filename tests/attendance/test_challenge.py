"""The active head-turn challenge: scripted frame evidence through the real Decision, then the kiosk loop
(real store, real screen) on scripted analyses whose landmarks give the yaw, and the runner's refusal of
"blink"."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.clock import FakeClock
from core.datakey import load_or_create
from core.errors import EdgehrError, NotBuiltError
from core.i18n import both
from device.attendance.challenge import TURN_MAX_FRAMES, TURN_MIN_DEGREES, HeadTurn, TurnRule, challenge_rule
from device.attendance.decision import Confirmed, Decision, FrameEvidence
from device.attendance.kiosk import Kiosk
from device.attendance.outcomes import PoorImage, Punched, Spoof, Waiting
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.attendance.vision_parts import VisionParts
from device.config.device import AttendanceSection, DeviceConfig
from device.hardware.camera_fake import FakeCamera
from device.hardware.gpio import open_gpio
from device.runner import Terminal, state_paths
from device.store import employees as repo
from device.store import open_store
from device.vision.quality import estimate_yaw
from device.vision.types import Face, Match, QualityVerdict
from tests.attendance.scripted import (
    Analysis,
    CountingGallery,
    OneHotGallery,
    RecordingFeedback,
    ScriptedAnalyser,
    ScriptedPipeline,
    vector_of,
)

BOX = (100.0, 80.0, 120.0, 140.0)
OK = QualityVerdict(True, None)
TURN = TurnRule()  # the defaults the runner uses: 15 degrees within 30 frames
NOBODY = FrameEvidence(None, QualityVerdict(False, "no-face"))


def seen(no: str | None, yaw: float = 0.0, live: float = 0.95) -> FrameEvidence:
    return FrameEvidence(BOX, OK, live, Match(no, 0.9, 0.3, accepted=no is not None), yaw)


def fake(live: float = 0.1, yaw: float = 0.0) -> FrameEvidence:
    return FrameEvidence(BOX, OK, live, None, yaw)


def poor(reason: str, yaw: float = 0.0) -> FrameEvidence:
    return FrameEvidence(BOX, QualityVerdict(False, reason), None, None, yaw)


def run(frames: list[FrameEvidence], challenge: TurnRule | None = TURN) -> list[object]:
    decision = Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5, challenge=challenge)
    return [decision.step(f) for f in frames]


def confirmed(results: list[object]) -> list[Confirmed]:
    return [r for r in results if isinstance(r, Confirmed)]


FRONTAL = [seen("E1", 1.0), seen("E1", -1.0), seen("E1", 0.0)]  # identity + passive liveness confirmed here
E1 = Confirmed("E1", 0.9, 0.95)
JITTER = [2.0, -2.5, 1.0, 3.0, -1.0]  # a still face's yaw wanders by a few degrees between frames


@dataclass(frozen=True)
class Case:
    name: str
    frames: list[FrameEvidence]
    confirmed_at: int | None  # index of the one Confirmed verdict, None = nobody is punched
    expect: dict[int, object]  # other verdicts checked by frame index


CASES = [
    Case("turn to the right passes", FRONTAL + [seen("E1", 6.0), seen("E1", 12.0), seen("E1", 17.0), seen("E1", 20.0)],
         5, {2: Waiting("turn-head"), 3: Waiting("turn-head"), 6: Waiting("step-away")}),
    Case("turn to the left passes", FRONTAL + [seen("E1", -9.0), seen("E1", -16.0)], 4, {}),
    Case("measured from the start, not from zero: 10 -> 24 is a 14 degree turn and is not enough",
         [seen("E1", 10.0)] * 3 + [seen("E1", 24.0)] * 4 + [seen("E1", 26.0)], 7, {6: Waiting("turn-head")}),
    Case("a still photo (yaw jitter only) times out as a spoof and stays refused",
         FRONTAL + [seen("E1", JITTER[i % 5]) for i in range(TURN_MAX_FRAMES)] + [seen("E1", 30.0)] * 3,
         None, {2 + TURN_MAX_FRAMES: Spoof(0.95, reason="challenge"), 3 + TURN_MAX_FRAMES: Waiting("step-away"),
                5 + TURN_MAX_FRAMES: Waiting("step-away")}),
    Case("identity change during the challenge cancels it: no punch for either",
         FRONTAL + [seen("E2", 20.0), seen("E1", 20.0), seen("E1", 22.0)], None, {3: Waiting("hold-still")}),
    Case("the new person must be confirmed and turn on their own",
         FRONTAL + [seen("E2", 0.0)] * 3 + [seen("E2", 18.0)], 6, {5: Waiting("turn-head")}),
    Case("a non-live frame during the challenge cancels it",
         FRONTAL + [fake(0.2, 20.0), seen("E1", 20.0), seen("E1", 20.0)], None, {3: Waiting("hold-still")}),
    # Leaving mid-challenge is a counted, shown outcome (issue 21: it used to end silently as Idle).
    Case("the face leaving ends the challenge as failed", FRONTAL + [NOBODY, seen("E1", 20.0)], None,
         {3: Spoof(0.95, reason="challenge")}),
    Case("an unmatched turned frame cannot pass, but the same person turned can",
         FRONTAL + [seen(None, 20.0), seen("E1", 20.0)], 4, {3: Waiting("turn-head")}),
    Case("a turn too far for the quality gate shows its guidance and does not pass",
         FRONTAL + [poor("turned", 35.0), seen("E1", 16.0)], 4, {3: PoorImage("turned")}),
    Case("poor frames use up the challenge's frames",
         FRONTAL + [poor("blurred")] * TURN_MAX_FRAMES + [seen("E1", 20.0)], None,
         {2 + TURN_MAX_FRAMES: Spoof(0.95, reason="challenge")}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_turn_challenge(case: Case) -> None:
    results = run(case.frames)
    if case.confirmed_at is None:
        assert confirmed(results) == []
    else:
        assert confirmed(results) == [E1 if case.frames[case.confirmed_at].match.employee_no == "E1"  # type: ignore[union-attr]
                                      else Confirmed("E2", 0.9, 0.95)]
        assert isinstance(results[case.confirmed_at], Confirmed)
    for index, verdict in case.expect.items():
        assert results[index] == verdict, index


OFF_SEQUENCES = [
    [seen("E1", 0.0)] * 5,
    [seen("E1", 0.0), seen("E1", 0.0), seen("E2", 30.0), seen("E2", 0.0), seen("E2", 0.0)],
    [fake(0.2), fake(0.1), fake(0.3)] + [seen("E1")] * 5,
    [seen(None)] * 5,
    [seen("E1"), poor("blurred"), seen("E1"), seen("E1"), seen("E1"), NOBODY, seen("E1")] * 2,
]


@pytest.mark.parametrize("frames", OFF_SEQUENCES)
def test_off_keeps_the_decision_unchanged(frames: list[FrameEvidence]) -> None:
    off = challenge_rule("off", max_yaw_degrees=30.0)
    assert off is None
    plain = Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5)
    assert run(frames, challenge=off) == [plain.step(f) for f in frames]
    assert Waiting("turn-head") not in run(frames, challenge=off)


def test_off_confirms_at_the_kth_frame_without_a_turn() -> None:
    results = run([seen("E1")] * 4, challenge=None)
    assert results[2] == E1 and results[3] == Waiting("step-away")


def test_blink_is_refused_with_a_not_built_error() -> None:
    with pytest.raises(NotBuiltError, match="blink") as raised:
        challenge_rule("blink", max_yaw_degrees=30.0)
    assert "'turn'" in raised.value.fix and raised.value.code == "not-built"


def test_turn_is_refused_when_the_quality_gate_refuses_the_turn_itself() -> None:
    with pytest.raises(EdgehrError, match="max_yaw_degrees") as raised:
        challenge_rule("turn", max_yaw_degrees=10.0)
    assert raised.value.code == "config-invalid"
    assert challenge_rule("turn", max_yaw_degrees=30.0) == TurnRule(TURN_MIN_DEGREES, TURN_MAX_FRAMES)


def test_head_turn_without_a_starting_yaw_measures_from_the_first_yaw() -> None:
    turn = HeadTurn(TurnRule(15.0, 5), None)
    assert [turn.step(y) for y in (None, 4.0, 10.0, 19.5)] == ["waiting", "waiting", "waiting", "passed"]
    assert turn.largest_turn == pytest.approx(15.5)


# --- yaw from landmarks: what a real head does and what a flat photo does ------------------------------

EYE_DIST = 40.0
NOSE_DEPTH = 0.5  # device.vision.quality.NOSE_DEPTH_RATIO: nose tip depth / eye distance


def head_landmarks(yaw_degrees: float, squash: float = 1.0) -> np.ndarray:
    """The 5 landmarks of a head turned by ``yaw_degrees`` (weak perspective), optionally squashed
    horizontally by ``squash`` (a flat photo of it swivelled about a vertical axis)."""
    t = math.radians(yaw_degrees)
    # 3D points (x right, z towards the camera) in eye-distance units, rotated about the vertical axis.
    points = [(-0.5, 0.0, 0.0), (0.5, 0.0, 0.0), (0.0, 0.6, NOSE_DEPTH), (-0.4, 1.1, 0.1), (0.4, 1.1, 0.1)]
    out = [(160.0 + squash * EYE_DIST * (x * math.cos(t) + z * math.sin(t)), 120.0 + EYE_DIST * y)
           for x, y, z in points]
    return np.asarray(out, dtype=np.float32)


def test_estimated_yaw_follows_a_real_turn_but_not_a_swivelled_photo() -> None:
    for yaw in (-20.0, 0.0, 18.0):
        assert estimate_yaw(Face(BOX, head_landmarks(yaw), 0.9)) == pytest.approx(yaw, abs=0.5)
    photo = [estimate_yaw(Face(BOX, head_landmarks(3.0, squash=math.cos(math.radians(a))), 0.9))
             for a in (0, 20, 40, 60)]
    assert max(photo) - min(photo) < 0.5  # swivelling a flat picture does not turn the head in it


# --- the kiosk loop: the punch is stored only after the turn --------------------------------------------

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 8, 0, tzinfo=ZONE)


def person(no: str, yaw: float, squash: float = 1.0) -> Analysis:
    face = Face(BOX, head_landmarks(yaw, squash), 0.99)
    return Analysis(face, OK, 0.95, vector_of(no))


def kiosk_run(tmp_path: Path, script: list[Analysis]) -> tuple[Kiosk, list[object], list[str]]:
    store = open_store(tmp_path / "d.db")
    repo.upsert_employee(store, "E1", "Li Lei", START, "admin")
    clock = FakeClock(START.astimezone(ZoneInfo("UTC")))
    feedback = RecordingFeedback()
    screen = KioskScreen(device_name="Gate", default_language="en", monotonic_ns=clock.monotonic_ns)
    kiosk = Kiosk(
        device_id="gate-1",
        camera=FakeCamera(paced=False, frames=len(script), width=160, height=120),
        pipeline=ScriptedAnalyser(script),  # type: ignore[arg-type]
        gallery=OneHotGallery(["E1"]),
        decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5, challenge=TURN),
        rules=PunchRules(AttendanceSection.model_validate({}), ZONE),
        store=store,
        clock=clock,
        feedback=feedback,
        screen=screen,
        models={"embedder": "m1"},
        zone=ZONE,
    )
    outcomes: list[object] = []
    camera = kiosk.camera
    try:
        while (frame := camera.read()) is not None:
            outcomes.append(kiosk.process(frame.image))
        rows = [r[0] for r in store.conn.execute("SELECT employee_no FROM punches").fetchall()]
    finally:
        store.close()
    return kiosk, outcomes, rows


def test_kiosk_punches_after_the_head_turn_and_shows_the_request(tmp_path: Path) -> None:
    script = [person("E1", 0.0)] * 3 + [person("E1", 8.0), person("E1", 18.0), person("E1", 18.0)]
    kiosk, outcomes, rows = kiosk_run(tmp_path, script)
    assert outcomes[2] == Waiting("turn-head") and outcomes[3] == Waiting("turn-head")
    assert isinstance(outcomes[4], Punched) and rows == ["E1"]
    state = kiosk.screen.state()
    assert state["banner"]["kind"] == "punched"  # type: ignore[index]
    assert both("guidance.turn-head") == {"en": "Please turn your head slightly", "zh-CN": "请稍微转动头部"}


def test_kiosk_never_punches_a_swivelled_photo(tmp_path: Path) -> None:
    # A print of E1 held up and swivelled back and forth: the landmarks squash, the yaw does not change.
    angles = [0, 0, 0] + [(i * 13) % 65 for i in range(TURN_MAX_FRAMES)]
    script = [person("E1", 2.0, squash=math.cos(math.radians(a))) for a in angles]
    kiosk, outcomes, rows = kiosk_run(tmp_path, script)
    assert rows == [] and not any(isinstance(o, Punched) for o in outcomes)
    assert outcomes[-1] == Spoof(0.95, reason="challenge")
    assert kiosk.counters().spoof == 1


def test_runner_refuses_blink(tmp_path: Path) -> None:
    config = DeviceConfig.model_validate({
        "device": {"id": "gate-1", "state_dir": str(tmp_path / "state")},
        "camera": {"source": "fake"},
        "gpio": {"pin_factory": "mock"},
        "recognition": {"active_challenge": "blink"},
    })
    db_path, key_path = state_paths(config)
    store = open_store(db_path, check_same_thread=False)
    gpio = open_gpio(config.gpio)
    vision = VisionParts(pipeline=ScriptedPipeline([]), gallery=CountingGallery([]),  # type: ignore[arg-type]
                         models={}, template_model="m1", same_person_threshold=0.5)
    try:
        with pytest.raises(NotBuiltError, match="active_challenge = 'blink' is not built"):
            Terminal(config, store=store, key=load_or_create(key_path), camera=FakeCamera(paced=False, frames=1),
                     gpio=gpio, vision=vision, clock=FakeClock(START.astimezone(ZoneInfo("UTC"))))
    finally:
        gpio.close()
        store.close()


def test_turn_settings_come_from_the_config() -> None:
    from device.attendance.challenge import configured_rule
    from device.config.device import RecognitionSection

    assert configured_rule(RecognitionSection()) is None  # off by default
    default = RecognitionSection(active_challenge="turn")
    assert (default.turn_degrees, default.turn_frames) == (TURN_MIN_DEGREES, TURN_MAX_FRAMES)
    rule = configured_rule(RecognitionSection(active_challenge="turn", turn_degrees=20.0, turn_frames=10))
    assert rule == TurnRule(20.0, 10)
    assert rule is not None
    turn = HeadTurn(rule, 0.0)
    assert [turn.step(y) for y in (5.0, 17.0, 19.9)] == ["waiting"] * 3  # 17 passed the default, not 20
    assert turn.step(20.5) == "passed"
    slow = HeadTurn(rule, 0.0)
    assert [slow.step(1.0) for _ in range(10)][-1] == "timed-out"  # the 10th frame ends it


@pytest.mark.parametrize(
    "settings",
    [{"turn_degrees": 4.0}, {"turn_degrees": 46.0}, {"turn_frames": 4}, {"turn_frames": 301},
     {"active_challenge": "turn", "turn_degrees": 25.0, "max_yaw_degrees": 20.0}],
    ids=["turn-too-small", "turn-too-large", "too-few-frames", "too-many-frames", "turn-beyond-quality-gate"],
)
def test_turn_settings_are_validated(settings: dict[str, object]) -> None:
    from pydantic import ValidationError

    from device.config.device import RecognitionSection

    with pytest.raises(ValidationError):
        RecognitionSection(**settings)


def test_a_turn_beyond_the_quality_gate_is_fine_while_the_challenge_is_off() -> None:
    from device.config.device import RecognitionSection

    assert RecognitionSection(active_challenge="off", turn_degrees=25.0, max_yaw_degrees=20.0).turn_degrees == 25.0


def test_turn_settings_are_documented_for_the_panel() -> None:
    from device.config.device import RecognitionSection

    for name in ("turn_degrees", "turn_frames", "active_challenge"):
        info = RecognitionSection.model_fields[name]
        assert info.title and info.description and len(info.description) > 40
