"""``<state>/courier-status.json``: how a courier running as its own process (``--only courier``) tells the
kiosk process's health page whether it reaches the broker. Rewritten every few seconds; never personal data."""

from __future__ import annotations

import json
from pathlib import Path

from sync.keyfiles import write_atomic

STATUS_FILE = "courier-status.json"
#: How often the status file is rewritten; a reader counts it stale after STALE_SECONDS.
STATUS_SECONDS = 5.0
STALE_SECONDS = 60.0


def write_status(state_dir: Path, connected: bool, problems: list[str], now: float) -> None:
    """The courier's state for the kiosk process's health page (no personal data)."""
    status = {"connected": connected, "problems": problems, "at": now}
    write_atomic(state_dir / STATUS_FILE, json.dumps(status).encode())


def status_problems(state_dir: Path, now: float) -> list[str]:
    """Health problems of a courier running in another process, from its status file (wall-clock ``now``)."""
    try:
        status = json.loads((state_dir / STATUS_FILE).read_text())
        age = now - float(status["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return ["sync: the courier is not running (no courier-status.json)"]
    if age > STALE_SECONDS:
        return [f"sync: the courier has not reported for {age:.0f} s (edgehr-courier.service)"]
    problems = [f"sync: {p}" for p in status.get("problems", [])]
    if not status.get("connected"):
        problems.append("sync: the courier has not reached the broker")
    return problems
