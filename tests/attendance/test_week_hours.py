"""Hours this week for the kiosk card, from the terminal's own punches in a real store: Monday 00:00 in the
site's zone up to the punch, in..out pairs, punches voided at the panel left out, other people ignored."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from device.attendance.week_hours import hours_text, paired_minutes, week_minutes, week_start
from device.store import Store, open_store
from device.store.punch_log import record_correction
from device.store.punches import NewPunch, Punch, record_punch

ZONE = ZoneInfo("Asia/Shanghai")
_mono = itertools.count(1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "d.db")
    yield s
    s.close()


def at(day: int, hhmm: str) -> datetime:
    return datetime(2026, 3, day, int(hhmm[:2]), int(hhmm[3:]), tzinfo=ZONE)


def punch(store: Store, employee_no: str, direction: str, moment: datetime) -> Punch:
    new = NewPunch(employee_no=employee_no, direction=direction, work_day=moment.date().isoformat(),  # type: ignore[arg-type]
                   device_time=moment.isoformat(), device_time_ms=int(moment.timestamp() * 1000),
                   monotonic_ns=next(_mono), clock_synced=True, source="face")
    return record_punch(store, new, "gate-1")


def test_pairs_in_then_out_and_nothing_else() -> None:
    assert paired_minutes([("in", 0), ("out", 90 * 60_000)]) == 90
    assert paired_minutes([("out", 0), ("in", 60_000)]) == 0  # an out first, an in still open: nothing
    assert paired_minutes([("in", 0), ("in", 30 * 60_000), ("out", 60 * 60_000)]) == 30  # the later in counts
    assert paired_minutes([("in", 0), ("out", 59_999)]) == 0  # whole minutes, rounded down
    assert hours_text(510) == "8.5" and hours_text(539) == "8.9" and hours_text(0) == "0.0"


def test_the_week_starts_on_monday_at_midnight_in_the_sites_zone() -> None:
    assert week_start(at(4, "18:00")) == at(2, "00:00")  # Wednesday -> Monday 2 March
    assert week_start(at(2, "00:00")) == at(2, "00:00")
    assert week_start(at(1, "23:59")) == datetime(2026, 2, 23, tzinfo=ZONE)  # a Sunday belongs to last week


def test_week_minutes_from_this_terminals_punches(store: Store) -> None:
    punch(store, "E1", "in", at(1, "09:00"))  # Sunday: last week
    punch(store, "E1", "out", at(1, "17:00"))
    punch(store, "E1", "in", at(2, "09:00"))  # Monday 9 h
    punch(store, "E1", "out", at(2, "18:00"))
    punch(store, "E1", "in", at(3, "09:00"))  # Tuesday 3 h + 4 h 30
    punch(store, "E1", "out", at(3, "12:00"))
    punch(store, "E1", "in", at(3, "13:00"))
    wrong = punch(store, "E1", "out", at(3, "17:30"))
    punch(store, "E2", "in", at(2, "06:00"))  # somebody else
    punch(store, "E2", "out", at(2, "22:00"))
    now = at(4, "09:00")
    punch(store, "E1", "in", now)  # the punch just made: open, adds nothing yet
    assert week_minutes(store, "E1", now) == 9 * 60 + 3 * 60 + 270
    record_correction(store, {"action": "void", "employee_no": "E1", "punch_uid": wrong.uid, "reason": "pressed twice",
                              "admin": "admin"}, actor="admin", at=datetime.now(UTC), clock_synced=True)
    assert week_minutes(store, "E1", now) == 9 * 60 + 3 * 60  # the voided out closes nothing
    assert week_minutes(store, "E3", now) == 0
