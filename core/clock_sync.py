"""Whether the wall clock is synchronised, from the real signal, never a guess.

1. ``timedatectl show -p NTPSynchronized --value`` ("yes"/"no") where systemd answers;
2. else the kernel's own flag, which is what timedatectl reads: adjtimex(2) with no change requested
   reports STA_UNSYNC clear once an NTP daemon (systemd-timesyncd, chrony, ntpd) disciplines the
   clock, and a maximum error under 16 s (systemd's ``ntp_synced``). It works in containers too;
3. else "unknown" (not Linux, or neither answers), which records treat as not synchronised.

The answer is cached for ``CACHE_SECONDS``: a punch asks, and must not wait for a subprocess each time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Literal

SyncState = Literal["yes", "no", "unknown"]
CACHE_SECONDS = 30.0
_STA_UNSYNC = 0x0040
_MAX_ERROR_US = 16_000_000


@dataclass(frozen=True)
class ClockSync:
    state: SyncState
    source: str  # "timedatectl", "kernel (adjtimex)" or "none"


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h> (Linux, 64- and 32-bit alike with native longs); padding at the end.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("padding", ctypes.c_int * 11)]


def from_timedatectl() -> SyncState:
    exe = shutil.which("timedatectl")
    if exe is None:
        return "unknown"
    try:
        done = subprocess.run([exe, "show", "-p", "NTPSynchronized", "--value"],  # noqa: S603 - fixed argv
                              capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    answer = done.stdout.strip()
    if done.returncode != 0 or answer not in ("yes", "no"):
        return "unknown"  # e.g. "System has not been booted with systemd": no answer, not a "no"
    return "yes" if answer == "yes" else "no"


def from_kernel() -> SyncState:
    if not sys.platform.startswith("linux"):
        return "unknown"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        timex = _Timex()  # modes = 0: read only
        if libc.adjtimex(ctypes.byref(timex)) < 0:
            return "unknown"
    except (OSError, AttributeError):
        return "unknown"
    synced = not timex.status & _STA_UNSYNC and timex.maxerror < _MAX_ERROR_US
    return "yes" if synced else "no"


def read_clock_sync() -> ClockSync:
    """The signal now (uncached)."""
    state = from_timedatectl()
    if state != "unknown":
        return ClockSync(state, "timedatectl")
    state = from_kernel()
    if state != "unknown":
        return ClockSync(state, "kernel (adjtimex)")
    return ClockSync("unknown", "none")


class CachedClockSync:
    """``read_clock_sync`` at most once per CACHE_SECONDS; thread-safe."""

    def __init__(self, *, seconds: float = CACHE_SECONDS) -> None:
        self._seconds = seconds
        self._lock = threading.Lock()
        self._value: ClockSync | None = None
        self._at = 0.0

    def get(self) -> ClockSync:
        now = time.monotonic()
        with self._lock:
            if self._value is None or now - self._at > self._seconds:
                self._value, self._at = read_clock_sync(), now
            return self._value


#: One cache for the process: the health page and every punch read the same answer.
SHARED = CachedClockSync()
