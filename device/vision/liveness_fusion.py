"""One liveness figure for an attempt: MiniFAS's per-frame scores fused over the frames of one face.

Why fuse: a single frame's MiniFAS score swings with sensor noise, JPEG and a little motion, so "each of
L consecutive frames >= threshold" throws away a real face on one noisy frame and is no harder for a
photo that happens to pass three frames running. The attempt's evidence is the mean of the frames' logit
margins (real - spoof = log(p / (1 - p)); MiniFAS's probability is sigmoid(real - spoof), see liveness.py),
each clipped to +-``CLIP`` so that one saturated frame cannot outvote the others.

What it buys, measured (``edgehr bench attempts``, issue 21): on the bench's appearances MiniFAS's
scores of genuine appearances (still photos, enlarged, under sensor noise) and of the SYNTHETIC prints
overlap so much that every way of fusing them tried (min of 3 consecutive, mean of 3 or 5, median of 8,
judged on the crop as is, shrunk to 64 or 96 px first to undo the enlargement, or median-filtered) lies on
the same trade-off curve: at equal attack acceptance the genuine rejects are within a few points. So the
product keeps ``consecutive`` by default; ``mean-logit`` is the fused rule a second cue adds into.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Largest |logit margin| one frame contributes (p = 0.99966): beyond it a frame is "certain" either way.
CLIP = 8.0


def logit_margin(probability: float) -> float:
    """MiniFAS's real - spoof logit margin from its probability of a real face, clipped to +-CLIP."""
    p = min(max(probability, 1e-12), 1.0 - 1e-12)
    return max(-CLIP, min(CLIP, math.log(p / (1.0 - p))))


def fused_margin(probabilities: Sequence[float]) -> float:
    """The attempt's evidence: the mean clipped logit margin of its frames (no frames: -CLIP, not live)."""
    if not probabilities:
        return -CLIP
    return sum(logit_margin(p) for p in probabilities) / len(probabilities)


def as_probability(margin: float) -> float:
    """A fused margin as the probability scale punches record (sigmoid)."""
    return 1.0 / (1.0 + math.exp(-margin))


def fused_live(probabilities: Sequence[float], threshold: float) -> bool:
    """Live when the fused margin reaches the per-frame threshold's margin (0.9 -> log 9 = 2.197)."""
    return fused_margin(probabilities) >= logit_margin(threshold)
