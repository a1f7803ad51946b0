"""The dashboard's figures, each from its real source (an unknown stays "unknown", never a guess), and
the punches-per-hour chart drawn as a small SVG on the server (no script, no front-end build).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.clock_sync import SHARED, ClockSync
from device.health import Health
from device.panel.terminal_tools import LoggedError, TerminalTools
from device.store import Store, punch_log

_MEMINFO = Path("/proc/meminfo")


@dataclass(frozen=True)
class Memory:
    total_mb: int
    available_mb: int

    @property
    def used_fraction(self) -> float:
        return 1 - self.available_mb / self.total_mb if self.total_mb else 0.0


@dataclass(frozen=True)
class Dashboard:
    health: Health
    clock: ClockSync
    memory: Memory | None
    microphone: str
    last_ack: str | None
    today: str
    punches_today: int
    per_hour: list[int]
    errors: list[LoggedError] = field(default_factory=list)


def memory(path: Path = _MEMINFO) -> Memory | None:
    """MemTotal and MemAvailable of /proc/meminfo (None where there is none)."""
    values: dict[str, int] = {}
    try:
        for line in path.read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("MemTotal", "MemAvailable"):
                values[name] = int(rest.split()[0]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    if len(values) < 2:
        return None
    return Memory(values["MemTotal"], values["MemAvailable"])


def microphone(tools: TerminalTools) -> str:
    """"not used" on a terminal; on a booth the configured source, with the capture devices ALSA lists."""
    mic = tools.config.microphone
    if tools.config.device.kind == "terminal":
        return "not used"
    if mic.source == "wav":
        return "ok (wav replay)" if mic.path is not None and mic.path.is_file() else "error: wav file missing"
    if mic.source == "fake":
        return "fake (tests only)"
    capture = glob.glob("/dev/snd/pcmC*D*c")
    return f"ok ({len(capture)} capture device(s))" if capture else "error: no capture device found"


def last_ack(store: Store) -> str | None:
    """When the server last acknowledged a record (UTC ISO), or None if it never has."""
    row = store.conn.execute("SELECT max(delivered_at_ms) FROM outbox").fetchone()
    if row is None or row[0] is None:
        return None
    return datetime.fromtimestamp(int(row[0]) / 1000, UTC).isoformat(timespec="seconds")


def collect(store: Store, tools: TerminalTools, health: Health) -> Dashboard:
    today = tools.today()
    hours = punch_log.per_hour(store, today)
    return Dashboard(health=health, clock=SHARED.get(), memory=memory(), microphone=microphone(tools),
                     last_ack=last_ack(store), today=today, punches_today=sum(hours), per_hour=hours,
                     errors=tools.errors.items())


def hour_chart(counts: list[int], *, title: str, width: int = 480, height: int = 140) -> str:
    """An accessible SVG bar chart of 24 hourly counts (role=img with a title; one <title> per bar)."""
    top = max(max(counts, default=0), 1)
    left, bottom = 28, 18
    plot_w, plot_h = width - left - 4, height - bottom - 8
    bar = plot_w / 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" class="chart" id="hour-chart">',
        f'<title id="chart-title">{_escape(title)}</title>',
        f'<line x1="{left}" y1="{8 + plot_h}" x2="{width - 4}" y2="{8 + plot_h}" stroke="#555"/>',
        f'<text x="{left - 4}" y="14" text-anchor="end" font-size="10" fill="#333">{top}</text>',
        f'<text x="{left - 4}" y="{8 + plot_h}" text-anchor="end" font-size="10" fill="#333">0</text>',
    ]
    for hour, count in enumerate(counts):
        h = plot_h * count / top
        x = left + hour * bar
        parts.append(f'<rect x="{x + 1:.1f}" y="{8 + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                     f'fill="#23395d" data-hour="{hour}" data-count="{count}">'
                     f'<title>{hour:02d}:00 {count}</title></rect>')
        if hour % 3 == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="10" '
                         f'fill="#333">{hour:02d}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
