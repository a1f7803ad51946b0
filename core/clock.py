"""Time as the device knows it: wall time, monotonic time, and whether the wall clock can be trusted.

A Raspberry Pi has no real-time clock: until NTP (or the server) sets it, its wall time may be days
off. Every record therefore carries a clock-synced flag and a monotonic reading, so the server can
tell trustworthy times from guesses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

# systemd-timesyncd creates this file once it has synchronised the clock since boot.
_TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall time."""
        ...

    def monotonic_ns(self) -> int: ...

    def synced(self) -> bool: ...


class SystemClock:
    """The machine's clocks. ``synced``: ``assume_synced`` (servers, CI), systemd-timesyncd's flag file, or
    the real synchronisation signal (``core.clock_sync``: timedatectl's NTPSynchronized, else the kernel's
    adjtimex status); an unknown answer is "not synchronised"."""

    def __init__(self, *, assume_synced: bool = False, flag: Path = _TIMESYNC_FLAG) -> None:
        self._assume = assume_synced
        self._flag = flag

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def synced(self) -> bool:
        from core.clock_sync import SHARED

        return self._assume or self._flag.exists() or SHARED.get().state == "yes"


@dataclass
class FakeClock:
    """A clock tests move by hand. Explicit: never chosen by default."""

    current: datetime
    mono_ns: int = 0
    is_synced: bool = True

    def now(self) -> datetime:
        return self.current

    def monotonic_ns(self) -> int:
        return self.mono_ns

    def synced(self) -> bool:
        return self.is_synced

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.current += timedelta(seconds=seconds)
        self.mono_ns += int(seconds * 1e9)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
