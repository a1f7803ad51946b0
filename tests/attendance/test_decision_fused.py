"""The decision with recognition.liveness_fusion = "mean-logit": liveness judged over the window of frames."""

from __future__ import annotations

import math

import pytest

from device.attendance.decision import Confirmed, Decision, FrameEvidence
from device.attendance.outcomes import Spoof, Waiting
from device.vision.liveness_fusion import CLIP, as_probability, fused_live, fused_margin, logit_margin
from device.vision.types import Match, QualityVerdict

BOX = (100.0, 80.0, 120.0, 140.0)
OK = QualityVerdict(True, None)


def seen(no: str, live: float) -> FrameEvidence:
    return FrameEvidence(BOX, OK, live, Match(no, 0.9, 0.3, accepted=True))


def run(frames: list[FrameEvidence], fusion: str = "mean-logit") -> list[object]:
    decision = Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.9, fusion=fusion)  # type: ignore[arg-type]
    return [decision.step(f) for f in frames]


def test_one_noisy_frame_no_longer_breaks_a_live_run() -> None:
    frames = [seen("E1", 0.99), seen("E1", 0.7), seen("E1", 0.99)]
    assert [r for r in run(frames, "consecutive") if isinstance(r, Confirmed)] == []
    results = run(frames)
    assert isinstance(results[2], Confirmed) and results[2].employee_no == "E1"
    # The punch records the window's fused probability, not the best or the worst frame.
    expected = as_probability((logit_margin(0.99) * 2 + logit_margin(0.7)) / 3)
    assert results[2].liveness_score == pytest.approx(expected)
    assert results[:2] == [Waiting("hold-still")] * 2  # nothing is decided before the window is full


def test_a_window_below_the_threshold_is_a_spoof_held_until_the_face_leaves() -> None:
    frames = [seen("E1", 0.95), seen("E1", 0.6), seen("E1", 0.6)] + [seen("E1", 0.999)] * 4
    results = run(frames)
    assert isinstance(results[2], Spoof)
    assert results[2].liveness_score == pytest.approx(as_probability(fused_margin([0.95, 0.6, 0.6])))
    assert results[3:] == [Waiting("step-away")] * 4


def test_one_saturated_frame_cannot_outvote_two_doubtful_ones() -> None:
    # 1 - 1e-9 is a logit of 20.7: unclipped the mean would pass (6.3), clipped it is 2.10 < log 9 = 2.20.
    assert not fused_live([1 - 1e-9, 0.3, 0.3], 0.9)
    assert logit_margin(1.0) == CLIP and logit_margin(0.0) == -CLIP
    assert fused_live([0.9, 0.9, 0.9], 0.9) and not fused_live([0.9, 0.9, 0.899], 0.9)
    assert fused_margin([]) == -CLIP
    assert logit_margin(0.9) == pytest.approx(math.log(9))
