"""Fixtures of the hardware tests: recorded data from the shared datasets, copied into temp folders."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.paths import shared_dir

DATASETS = shared_dir() / "datasets"
ORL = DATASETS / "faces" / "orl"
CELEB = DATASETS / "faces" / "celeb-dev"
YALE = DATASETS / "faces" / "yale"
SPEECH = DATASETS / "speech"


class SleepRecorder:
    """A sleep that moves a FakeClock instead of waiting, and remembers each request."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        # round, not truncate: the pacer asks for an exact number of nanoseconds.
        self.clock.mono_ns += round(seconds * 1e9)
        self.clock.current += timedelta(seconds=seconds)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), mono_ns=time.monotonic_ns())


@pytest.fixture
def fake_sleep(fake_clock: FakeClock) -> SleepRecorder:
    return SleepRecorder(fake_clock)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared test data missing: {path} (set EDGEHR_SHARED to the shared folder)")
    return path
