"""The bench's split report: a threshold chosen on calibration identities only, figures from held-out ones."""

from __future__ import annotations

import math
from pathlib import Path

from drills.vision.attempt_scenes import Appearance
from drills.vision.attempt_splits import attempt_score, split_report


def row(split: str, kind: str, scores: list[float]) -> dict[str, object]:
    return {"split": split, "kind": kind, "frame_live_scores": scores}


def test_threshold_from_calibration_attacks_and_figures_from_held_out() -> None:
    rows = [
        row("calibration", "print", [0.9, 0.9, 0.9]),  # logit 2.197: the highest calibration attack
        row("calibration", "genuine", [0.1, 0.1, 0.1]),  # calibration genuine never moves the threshold
        row("held-out", "genuine", [0.95, 0.95, 0.95]),  # passes
        row("held-out", "genuine", [0.8, 0.99, 0.99]),  # consecutive: its weakest frame fails; the mean passes
        row("held-out", "genuine", [0.99]),  # too few frames: a reject, left out of the margin
        row("held-out", "screen", [0.99, 0.99, 0.99]),  # would pass: the held-out side is not fitted
    ]
    found = split_report(rows, 3)  # type: ignore[arg-type]
    consecutive, mean = found["rules"]["consecutive"], found["rules"]["mean-logit"]
    assert math.isclose(consecutive["threshold_logit_margin"], math.log(9), abs_tol=1e-3)
    assert consecutive["held_out_genuine_liveness_rejects"] == 2 and mean["held_out_genuine_liveness_rejects"] == 1
    assert consecutive["held_out_attacks_passing_liveness"] == 1
    assert consecutive["held_out_margin_logit"] < 0  # the held-out screen outscores the genuine faces


def test_attempt_scores_and_the_split_rule() -> None:
    assert attempt_score("consecutive", [0.5, 0.9], 3) is None
    assert math.isclose(attempt_score("consecutive", [0.1, 0.9, 0.9, 0.9], 3) or 0.0, math.log(9))
    sides = {Appearance("genuine", "orl", Path("x"), None, 1.0, 0, f"P{n}").split
             for n in range(20)}
    assert sides == {"calibration", "held-out"}
