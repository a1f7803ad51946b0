"""``edgehr bench attempts``: liveness thresholds chosen on one half of the identities, judged on the other.

Each appearance falls on the calibration or the held-out side by its identity
(drills.vision.attempt_scenes.Appearance.split: the parity of a CRC-32 of whose photo it is, so a person's
genuine appearances and the attacks made from their photos share a side). For each liveness rule the
attempt gets one score from its frames' MiniFAS probabilities (recorded as the kiosk ran):
- ``consecutive``: the best run of ``window`` consecutive frames, scored by its weakest frame's logit
  margin, unclipped (today's rule);
- ``mean-logit``: the best window of ``window`` frames, scored by its mean clipped logit margin
  (device/vision/liveness_fusion.py).
The stated rule for the threshold: the lowest score above every calibration attack (no calibration attack
would pass). The held-out side is then reported at that threshold and at the product's
(recognition.liveness_threshold's default 0.9, logit 2.197): genuine appearances whose liveness alone
would reject them (their identity and the margin are not re-judged here), attacks whose liveness would
pass, and the held-out margin between the lowest genuine and the highest attack score (appearances with
fewer judged frames than the window are rejects and refusals, left out of the margin). A rule whose
calibration attacks saturate (mean-logit's scores stop at +-CLIP) gets a threshold above the clip: then
nothing passes. This is a what-if over the recorded scores, not a second run of the kiosk; the run's own
outcomes are its figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from device.vision.liveness_fusion import fused_margin

#: recognition.liveness_threshold's default (0.9) as a logit margin.
PRODUCT_MARGIN = math.log(9.0)

RULES = ("consecutive", "mean-logit")


def attempt_score(rule: str, probabilities: Sequence[float], window: int) -> float | None:
    """The attempt's best window under ``rule`` as a logit margin; None with fewer than ``window`` frames."""
    if len(probabilities) < window:
        return None
    runs = [probabilities[i:i + window] for i in range(len(probabilities) - window + 1)]
    if rule == "consecutive":
        return max(min(_raw_logit(p) for p in run) for run in runs)
    return max(fused_margin(run) for run in runs)


def _raw_logit(p: float) -> float:
    q = min(max(p, 1e-12), 1.0 - 1e-12)
    return math.log(q / (1.0 - q))


def _at(threshold: float, genuine: list[float], attacks: list[float]) -> dict[str, float | int]:
    rejected = sum(s < threshold for s in genuine)
    return {"held_out_genuine_liveness_rejects": rejected,
            "held_out_genuine_liveness_reject_pct": round(100.0 * rejected / len(genuine), 2),
            "held_out_attacks_passing_liveness": sum(s >= threshold for s in attacks)}


def _side(rows: list[dict[str, Any]], rule: str, window: int, split: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"genuine": [], "attack": []}
    for row in rows:
        if row["split"] != split or row["kind"] not in ("genuine", "print", "screen"):
            continue
        score = attempt_score(rule, row["frame_live_scores"], window)
        kind = "genuine" if row["kind"] == "genuine" else "attack"
        # An attempt with too few judged frames cannot pass liveness (genuine: a reject; attack: refused).
        found[kind].append(score if score is not None else float("-inf"))
    return found


def split_report(rows: list[dict[str, Any]], window: int) -> dict[str, Any]:
    """Per rule: the threshold chosen on calibration and the held-out figures at it (see module docstring)."""
    out: dict[str, Any] = {"calibration_appearances": sum(r["split"] == "calibration" for r in rows),
                           "held_out_appearances": sum(r["split"] == "held-out" for r in rows), "rules": {}}
    for rule in RULES:
        cal = _side(rows, rule, window, "calibration")
        held = _side(rows, rule, window, "held-out")
        if not cal["attack"] or not held["genuine"] or not held["attack"]:
            continue
        threshold = max(cal["attack"]) + 1e-6
        genuine, attacks = held["genuine"], held["attack"]
        judged_g = [s for s in genuine if math.isfinite(s)]
        judged_a = [s for s in attacks if math.isfinite(s)]
        out["rules"][rule] = {
            "threshold_logit_margin": round(threshold, 4),
            "held_out_genuine": len(genuine),
            "held_out_attacks": len(attacks),
            **_at(threshold, genuine, attacks),
            "held_out_margin_logit": round(min(judged_g) - max(judged_a), 4) if judged_g and judged_a else None,
            "at_product_threshold": _at(PRODUCT_MARGIN, genuine, attacks),
        }
    return out


def table_lines(found: dict[str, Any]) -> list[str]:
    lines = [f"  liveness thresholds chosen on calibration ({found['calibration_appearances']} appearances: no "
             f"calibration attack passes), judged on held-out ({found['held_out_appearances']}):"]
    for rule, d in found["rules"].items():
        lines.append(
            f"    {rule:11s} threshold {d['threshold_logit_margin']} (logit): genuine rejected by liveness "
            f"{d['held_out_genuine_liveness_rejects']} of {d['held_out_genuine']} "
            f"({d['held_out_genuine_liveness_reject_pct']}%), attacks passing {d['held_out_attacks_passing_liveness']} "
            f"of {d['held_out_attacks']}, margin {d['held_out_margin_logit']}; at 0.9: genuine rejected "
            f"{d['at_product_threshold']['held_out_genuine_liveness_rejects']}, attacks passing "
            f"{d['at_product_threshold']['held_out_attacks_passing_liveness']}")
    return lines
