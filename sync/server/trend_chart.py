"""The timesheet page's trend chart as coordinates for an inline SVG drawn by the template (server-side,
no script, no front-end build): one bar per day for the attendance rate (present ÷ expected) and a line
for the late rate (late ÷ present), both on one 0-100 % axis. A day with nobody expected has no bar and
breaks the line; the page's table beside the chart gives every number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sync.server.timesheet_summary import TrendDay

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 30
GRID = (0, 25, 50, 75, 100)
MAX_LABELS = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # for the bar's <title> (a tooltip and what a screen reader reads)


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    lines: list[str]  # SVG polyline "points", one per unbroken run of days with a late rate
    dots: list[tuple[float, float]]
    grid: list[tuple[float, int]]  # (y, percent)
    ticks: list[Tick]
    left: int
    right: float
    bottom: float


def _y(rate: float) -> float:
    return TOP + (1 - rate) * (HEIGHT - TOP - BOTTOM)


def chart(days: Sequence[TrendDay]) -> Chart:
    inner = WIDTH - LEFT - RIGHT
    step = inner / max(1, len(days))
    bar_width = max(1.0, step * 0.7)
    bars: list[Bar] = []
    lines: list[str] = []
    dots: list[tuple[float, float]] = []
    run: list[str] = []
    every = max(1, -(-len(days) // MAX_LABELS))
    ticks: list[Tick] = []
    for i, d in enumerate(days):
        centre = LEFT + step * i + step / 2
        if i % every == 0:
            ticks.append(Tick(round(centre, 1), d.day.strftime("%m-%d")))
        rate = d.attendance_rate
        if rate is not None:
            top = _y(rate)
            bars.append(Bar(round(centre - bar_width / 2, 1), round(top, 1), round(bar_width, 1),
                            round(_y(0) - top, 1), f"{d.day.isoformat()}: {rate:.0%} ({d.present}/{d.expected})"))
        late = d.late_rate
        if late is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        point = (round(centre, 1), round(_y(late), 1))
        dots.append(point)
        run.append(f"{point[0]},{point[1]}")
    if run:
        lines.append(" ".join(run))
    grid = [(round(_y(p / 100), 1), p) for p in GRID]
    return Chart(WIDTH, HEIGHT, bars, lines, dots, grid, ticks, LEFT, WIDTH - RIGHT, _y(0))
