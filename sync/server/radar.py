"""The competency profile as a radar chart: coordinates for an inline SVG drawn by the page template
(server-side, no script, no front-end build). Each axis is one competency, its length the full scale;
the polygon joins the current scores (score / scale_max), a dashed one the booth's originals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sync.server.review import ScoreView

SIZE = 320
CENTER = SIZE / 2
RADIUS = 110
RINGS = (0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Axis:
    label: str
    x: float
    y: float
    label_x: float
    label_y: float
    anchor: str


@dataclass(frozen=True)
class Radar:
    size: int
    axes: tuple[Axis, ...]
    rings: tuple[str, ...]
    current: str
    original: str


def _point(i: int, n: int, fraction: float) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * i / n
    return CENTER + RADIUS * fraction * math.cos(angle), CENTER + RADIUS * fraction * math.sin(angle)


def _polygon(fractions: Sequence[float]) -> str:
    n = len(fractions)
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in (_point(i, n, f) for i, f in enumerate(fractions)))


def radar(scores: Sequence[ScoreView]) -> Radar | None:
    """None with fewer than three competencies (a radar of two axes says nothing a bar does not)."""
    n = len(scores)
    if n < 3:
        return None
    axes = []
    for i, s in enumerate(scores):
        x, y = _point(i, n, 1.0)
        lx, ly = _point(i, n, 1.18)
        anchor = "middle" if abs(lx - CENTER) < 8 else ("start" if lx > CENTER else "end")
        axes.append(Axis(s.competency, x, y, lx, ly, anchor))
    return Radar(
        SIZE,
        tuple(axes),
        tuple(_polygon([r] * n) for r in RINGS),
        _polygon([min(1.0, s.current / s.scale_max) for s in scores]),
        _polygon([min(1.0, s.original / s.scale_max) for s in scores]),
    )
