"""Timesheets from punches: pure functions, no database, no clock of their own.

One row per employee per work day in the server's time zone. Rules, in the order they apply:

1. Corrections: ``void`` removes a punch, ``add`` adds one, ``change`` does both (new time and/or
   direction); the original punch stays in the store for audit, only the timesheet uses the result.
2. Work day of a punch: with a shift, day D spans from half the off-duty gap before the shift start
   to half the gap after its end (09:00-18:00 -> D 01:30 .. D+1 01:30; 22:00-06:00 -> D 14:00 ..
   D+1 14:00), so an overnight shift's morning punches belong to the evening it started. Without a
   shift, day D is the calendar day.
3. Duplicates: a punch in the same direction less than a minute after the previous kept one is dropped.
4. Pairing in time order: in..out adds worked time; an in after an in, or an out without an in, is a
   missing punch; an open in at the end is a missing punch once the day is over (not while it runs).
5. Late = first in after shift start + grace (minutes counted from the start); early leave = last out
   before shift end - grace (counted to the end); overtime = worked minutes beyond the shift length when
   that excess exceeds the threshold; on a day the shift does not run, all worked time is overtime.
   Absent = a scheduled day that is over with no punch. Minutes are whole minutes, rounded down.
6. A punch taken while the device clock was not synchronised flags the day: its times may be wrong.

One bad row never breaks a report: a punch or correction whose time lies outside the sane window
(``sync.protocol.times``: 2000-01-01 .. 2100-01-01 UTC; stored before that window was enforced, or sent
by a broken device) is left out of every day and logged, instead of failing the whole timesheet (such a
time may not even be representable once turned into the server's zone). A correction left out leaves
its punch as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

# Handed on for the API's request models and the store's readers (one window, sync.protocol.times).
from sync.protocol.times import SaneInstant as SaneInstant
from sync.protocol.times import from_unix_ms as from_unix_ms
from sync.protocol.times import in_window as in_window

log = logging.getLogger(__name__)

Direction = Literal["in", "out"]
DUPLICATE_WINDOW = timedelta(minutes=1)

# Flag codes (stable: the CSV, the API and the pages' translations use them).
LATE, EARLY_LEAVE, OVERTIME, ABSENT = "late", "early-leave", "overtime", "absent"
MISSING_PUNCH, CLOCK_UNSYNCED, CORRECTED, REST_DAY, IN_PROGRESS = (
    "missing-punch",
    "clock-unsynced",
    "corrected",
    "rest-day",
    "in-progress",
)


@dataclass(frozen=True)
class Shift:
    name: str
    start: time
    end: time  # at or before ``start``: the shift ends the next day
    grace_in_minutes: int = 0
    grace_out_minutes: int = 0
    overtime_after_minutes: int = 0
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays the shift runs (1 = Monday)

    @property
    def length(self) -> timedelta:
        start = timedelta(hours=self.start.hour, minutes=self.start.minute)
        end = timedelta(hours=self.end.hour, minutes=self.end.minute)
        return end - start if end > start else end + timedelta(days=1) - start

    def bounds(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Shift start and end on work day ``day`` (aware, in ``tz``)."""
        start = datetime.combine(day, self.start, tz)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        return start, datetime.combine(end_day, self.end, tz)

    def runs_on(self, day: date) -> bool:
        return day.isoweekday() in self.days


@dataclass(frozen=True)
class TimedPunch:
    uid: str
    direction: Direction
    at: datetime  # aware
    clock_synced: bool = True
    device_id: str = ""


@dataclass(frozen=True)
class Correction:
    id: int
    action: Literal["add", "void", "change"]
    punch_uid: str | None = None  # the punch voided or changed
    direction: Direction | None = None  # for add/change (change: None keeps the original's)
    at: datetime | None = None  # for add/change (change: None keeps the original's)
    reason: str = ""


@dataclass(frozen=True)
class DayRow:
    employee_no: str
    day: date
    shift: str | None
    scheduled: bool
    first_in: datetime | None
    last_out: datetime | None
    worked_minutes: int
    late_minutes: int
    early_leave_minutes: int
    overtime_minutes: int
    absent: bool
    missing_punch: bool
    flags: tuple[str, ...]
    punches: tuple[TimedPunch, ...] = field(default=())  # effective punches of the day, in time order

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(sorted({p.device_id for p in self.punches if p.device_id}))


def apply_corrections(
    punches: Iterable[TimedPunch], corrections: Iterable[Correction]
) -> tuple[list[TimedPunch], list[datetime]]:
    """The punches a timesheet uses, and the times touched by corrections (to flag their days)."""
    by_uid = {p.uid: p for p in punches if _placeable(p.at, f"punch {p.uid}")}
    touched: list[datetime] = []
    for c in sorted(corrections, key=lambda c: c.id):
        if c.at is not None and not _placeable(c.at, f"correction {c.id}"):
            continue  # left out whole: a "change" must not keep half of itself
        original = by_uid.pop(c.punch_uid, None) if c.action in ("void", "change") and c.punch_uid else None
        if original is not None:
            touched.append(original.at)
        if c.action == "add" or (c.action == "change" and original is not None):
            direction = c.direction or (original.direction if original else None)
            at = c.at or (original.at if original else None)
            if direction is None or at is None:
                continue  # an add without a time or direction has nothing to add (validated at the API)
            synced = True if c.at is not None or original is None else original.clock_synced
            by_uid[f"correction:{c.id}"] = TimedPunch(f"correction:{c.id}", direction, at, synced, "correction")
            touched.append(at)
    return sorted(by_uid.values(), key=lambda p: (p.at, p.uid)), touched


def _placeable(moment: datetime, what: str) -> bool:
    """Whether ``moment`` can be placed on a work day; logs the row that cannot (see the module doc)."""
    if moment.tzinfo is not None and in_window(moment):
        return True
    log.warning("timesheets: %s left out: its time %s is outside the sane window", what, moment.isoformat())
    return False


def day_span(day: date, shift: Shift | None, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants whose punches count for work day ``day`` (start inclusive, end exclusive)."""
    if shift is None:
        start = datetime.combine(day, time(0), tz)
        return start, datetime.combine(day + timedelta(days=1), time(0), tz)
    shift_start, shift_end = shift.bounds(day, tz)
    half_gap = (timedelta(days=1) - shift.length) / 2
    return shift_start - half_gap, shift_end + half_gap


def collapse_duplicates(punches: list[TimedPunch]) -> list[TimedPunch]:
    kept: list[TimedPunch] = []
    for p in punches:
        if kept and kept[-1].direction == p.direction and p.at - kept[-1].at < DUPLICATE_WINDOW:
            continue
        kept.append(p)
    return kept


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def timesheet(
    employee_no: str,
    first: date,
    last: date,
    punches: Iterable[TimedPunch],
    corrections: Iterable[Correction],
    shift_for: Callable[[date], Shift | None],
    tz: ZoneInfo,
    now: datetime,
) -> list[DayRow]:
    """Rows for ``employee_no`` for every day from ``first`` to ``last`` inclusive."""
    effective, touched = apply_corrections(punches, corrections)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    # Spans of the neighbour days too, so a punch is placed on the earliest day whose span holds it.
    spans = {d: day_span(d, shift_for(d), tz) for d in [first - timedelta(days=1), *days, last + timedelta(days=1)]}

    def day_of(moment: datetime) -> date | None:
        local = moment.astimezone(tz).date()
        for candidate in (local - timedelta(days=1), local, local + timedelta(days=1)):
            span = spans.get(candidate) or day_span(candidate, shift_for(candidate), tz)
            if span[0] <= moment < span[1]:
                return candidate
        return None

    per_day: dict[date, list[TimedPunch]] = {}
    for p in effective:
        d = day_of(p.at)
        if d is not None:
            per_day.setdefault(d, []).append(p)
    corrected_days = {day_of(t) for t in touched}
    return [
        _day_row(
            employee_no,
            d,
            collapse_duplicates(per_day.get(d, [])),
            shift_for(d),
            spans[d],
            d in corrected_days,
            tz,
            now,
        )
        for d in days
    ]


def _day_row(
    employee_no: str,
    day: date,
    punches: list[TimedPunch],
    shift: Shift | None,
    span: tuple[datetime, datetime],
    corrected: bool,
    tz: ZoneInfo,
    now: datetime,
) -> DayRow:
    scheduled = shift is not None and shift.runs_on(day)
    day_over = span[1] <= now
    worked = timedelta()
    missing = False
    open_in: TimedPunch | None = None
    for p in punches:
        if p.direction == "in":
            missing = missing or open_in is not None
            open_in = p
        elif open_in is not None:
            worked += p.at - open_in.at
            open_in = None
        else:
            missing = True
    in_progress = open_in is not None and not day_over
    missing = missing or (open_in is not None and day_over)
    ins = [p.at for p in punches if p.direction == "in"]
    outs = [p.at for p in punches if p.direction == "out"]
    first_in, last_out = (min(ins) if ins else None), (max(outs) if outs else None)
    worked_minutes = _minutes(worked)
    late = early = overtime = 0
    if shift is not None and scheduled:
        start, end = shift.bounds(day, tz)
        if first_in is not None and first_in - start > timedelta(minutes=shift.grace_in_minutes):
            late = _minutes(first_in - start)
        if last_out is not None and end - last_out > timedelta(minutes=shift.grace_out_minutes):
            early = _minutes(end - last_out)
        excess = worked_minutes - _minutes(shift.length)
        if excess > shift.overtime_after_minutes:
            overtime = excess
    elif shift is not None:
        overtime = worked_minutes
    absent = scheduled and not punches and day_over
    flags = [
        code
        for code, on in (
            (LATE, late > 0),
            (EARLY_LEAVE, early > 0),
            (OVERTIME, overtime > 0),
            (ABSENT, absent),
            (MISSING_PUNCH, missing),
            (IN_PROGRESS, in_progress),
            (REST_DAY, shift is not None and not scheduled and bool(punches)),
            (CLOCK_UNSYNCED, any(not p.clock_synced for p in punches)),
            (CORRECTED, corrected),
        )
        if on
    ]
    return DayRow(
        employee_no=employee_no,
        day=day,
        shift=shift.name if shift else None,
        scheduled=scheduled,
        first_in=first_in,
        last_out=last_out,
        worked_minutes=worked_minutes,
        late_minutes=late,
        early_leave_minutes=early,
        overtime_minutes=overtime,
        absent=absent,
        missing_punch=missing,
        flags=tuple(flags),
        punches=tuple(punches),
    )


def row_json(row: DayRow, tz: ZoneInfo) -> dict[str, object]:
    """A row as JSON-ready values; times in the server's zone with their offset."""

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat() if moment else None

    return {
        "employee_no": row.employee_no,
        "day": row.day.isoformat(),
        "shift": row.shift,
        "scheduled": row.scheduled,
        "first_in": local(row.first_in),
        "last_out": local(row.last_out),
        "worked_minutes": row.worked_minutes,
        "late_minutes": row.late_minutes,
        "early_leave_minutes": row.early_leave_minutes,
        "overtime_minutes": row.overtime_minutes,
        "absent": row.absent,
        "missing_punch": row.missing_punch,
        "flags": list(row.flags),
        "devices": list(row.devices),
        "punches": [
            {
                "uid": p.uid,
                "direction": p.direction,
                "at": local(p.at),
                "clock_synced": p.clock_synced,
                "device_id": p.device_id,
            }
            for p in row.punches
        ],
    }
