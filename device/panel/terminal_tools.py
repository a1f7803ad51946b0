"""What the admin pages beyond enrolment need of the running terminal: its config (and the file it came
from), clock, GPIO feedback devices, a camera frame, a clean restart, and the recent errors of its log.

``device/panel/site_admin.py`` builds one from a ``Terminal``; tests build one from their own parts
(gpiozero's MockFactory pins, a fake frame source).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.clock import Clock
from core.types import Image
from device.attendance.rules import parse_hhmm, work_day
from device.config.device import DeviceConfig
from device.hardware.feedback import Feedback

#: Log records kept for the dashboard's "recent errors" (warnings and worse).
RECENT_ERRORS = 20


@dataclass(frozen=True)
class LoggedError:
    at: str
    level: str
    logger: str
    message: str


class RecentErrors(logging.Handler):
    """A logging handler keeping the last RECENT_ERRORS warnings and errors in memory (never on disk)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self._items: deque[LoggedError] = deque(maxlen=RECENT_ERRORS)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()[:300]
        except (TypeError, ValueError):
            message = str(record.msg)[:300]
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds")
        with self._guard:
            self._items.append(LoggedError(at, record.levelname, record.name, message))

    def items(self) -> list[LoggedError]:
        with self._guard:
            return list(reversed(self._items))


@dataclass(frozen=True)
class TerminalTools:
    """``config_path`` None: settings are shown and cannot be saved. ``feedback`` None: no relay or buzzer (a
    booth). ``frame``: one camera frame (or None); ``restart``: stop the device cleanly and start it again
    with the saved settings."""

    config: DeviceConfig
    config_path: Path | None
    clock: Clock
    feedback: Feedback | None
    frame: Callable[[], Image | None]
    restart: Callable[[], None]
    errors: RecentErrors

    def gpio(self) -> Feedback:
        """The relay and buzzer; OSError where this device has none (the diagnostics page says so)."""
        if self.feedback is None:
            raise OSError("this device has no relay or buzzer")
        return self.feedback

    def gpio_status(self) -> str:
        return "not used" if self.feedback is None else self.feedback.status()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.device.timezone)

    def today(self) -> str:
        """The current work day (the terminal's own rule: before attendance.workday_starts it is yesterday's)."""
        starts = parse_hhmm(self.config.attendance.workday_starts)
        return work_day(self.clock.now(), self.zone, starts).isoformat()
