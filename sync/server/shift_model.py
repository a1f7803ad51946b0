"""The shift model of timesheets: shifts with every setting, who works which shift when, holidays and
manual (leave) records, and the slots (one shift on one work day) that punches are attached to.

Pure values, no database and no clock. The settings follow the shift types of the HR suites (Frappe
HRMS "Shift Type": begin check-in before shift start, allow check-out after shift end, late entry and
early exit grace periods with their marking switches, working-hours thresholds for half day and absent,
"alternating entries" or "strictly based on log type", "first check-in and last check-out" or "every
valid check-in and check-out", "mark auto attendance on holidays"); README's operator's guide has the
rules in the order they apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Literal
from zoneinfo import ZoneInfo

DirectionMode = Literal["typed", "alternate"]
HoursMode = Literal["pairs", "first_last"]
#: What a manual record (HR's leave or attendance entry) may set a day to.
MANUAL_STATUSES = ("present", "half_day", "absent", "on_leave")
#: Every status a timesheet day can have (stable codes: the API, the CSV and the pages' translations).
STATUSES = ("present", "half_day", "absent", "on_leave", "holiday", "rest_day", "open")
ALL_WEEKDAYS = frozenset({1, 2, 3, 4, 5, 6, 7})


@dataclass(frozen=True)
class Shift:
    name: str
    start: clock_time
    end: clock_time  # at or before ``start``: the shift ends the next day
    grace_in_minutes: int = 0
    grace_out_minutes: int = 0
    overtime_after_minutes: int = 0
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays the shift runs (1 = Monday)
    #: Check-in window opens this long before the start; None: half the off-duty gap (the old rule).
    checkin_before_start_min: int | None = None
    #: Check-out window closes this long after the end; None: half the off-duty gap.
    checkout_after_end_min: int | None = None
    late_marking: bool = True
    early_marking: bool = True
    half_day_below_hours: float | None = None
    absent_below_hours: float | None = None
    direction: DirectionMode = "typed"
    hours: HoursMode = "pairs"
    mark_on_holidays: bool = False

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

    def window(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants whose punches may count for this shift on ``day``: both edges inclusive."""
        start, end = self.bounds(day, tz)
        half_gap = (timedelta(days=1) - self.length) / 2
        before = half_gap if self.checkin_before_start_min is None else timedelta(minutes=self.checkin_before_start_min)
        after = half_gap if self.checkout_after_end_min is None else timedelta(minutes=self.checkout_after_end_min)
        return start - before, end + after

    def runs_on(self, day: date) -> bool:
        return day.isoweekday() in self.days


@dataclass(frozen=True)
class Assignment:
    """``shift`` on every day from ``first`` to ``last`` inclusive (None: open-ended)."""

    shift: Shift
    first: date
    last: date | None = None

    def covers(self, day: date) -> bool:
        return self.first <= day and (self.last is None or day <= self.last)


@dataclass(frozen=True)
class Manual:
    """HR's record for a day (leave, or attendance set by hand): takes precedence over punches.
    ``shift`` None: every shift of that day (and the day itself when no shift is planned)."""

    day: date
    status: str
    shift: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    """Who works what: assignments (with end dates; several may cover one day: one slot each), the
    default shift from a date on (used on days no assignment covers), holidays, manual records."""

    assignments: tuple[Assignment, ...] = ()
    defaults: tuple[tuple[date, Shift], ...] = ()  # (valid from, shift), any order
    holidays: frozenset[date] = frozenset()
    manual: tuple[Manual, ...] = ()

    def shifts_on(self, day: date) -> list[Shift]:
        covering: list[Shift] = []
        for a in self.assignments:
            if a.covers(day) and a.shift not in covering:
                covering.append(a.shift)
        if covering:
            return covering
        current: tuple[date, Shift] | None = None
        for valid_from, shift in self.defaults:
            if valid_from <= day and (current is None or valid_from >= current[0]):
                current = (valid_from, shift)
        return [current[1]] if current else []

    def manual_for(self, day: date, shift: str | None) -> Manual | None:
        """The last manual record for ``day`` that names ``shift`` or no shift."""
        found = None
        for m in self.manual:
            if m.day == day and (m.shift is None or m.shift == shift):
                found = m
        return found


@dataclass(frozen=True)
class Slot:
    """One shift on one work day (``shift`` None: a calendar day with no shift planned)."""

    day: date
    shift: Shift | None
    start: datetime  # shift start (calendar day: its midnight)
    end: datetime  # shift end (calendar day: the next midnight)
    window: tuple[datetime, datetime]  # inclusive; calendar day: [midnight, next midnight)

    @property
    def key(self) -> tuple[date, str | None]:
        return self.day, self.shift.name if self.shift else None

    def distance(self, moment: datetime) -> timedelta:
        """How far ``moment`` lies outside the shift's own hours (zero inside them)."""
        if moment < self.start:
            return self.start - moment
        return moment - self.end if moment > self.end else timedelta()


def slots_on(day: date, shifts: Sequence[Shift], tz: ZoneInfo) -> list[Slot]:
    if not shifts:
        start = datetime.combine(day, clock_time(0), tz)
        end = datetime.combine(day + timedelta(days=1), clock_time(0), tz)
        return [Slot(day, None, start, end, (start, end))]
    slots = [Slot(day, s, *s.bounds(day, tz), s.window(day, tz)) for s in shifts]
    return sorted(slots, key=lambda s: (s.start, s.key[1] or ""))


@dataclass
class Attacher:
    """Finds the slot a moment belongs to (the punch-attachment rule; README has it in words):

    1. Among the shift slots of the nearby days whose window holds the moment (edges inclusive), the one
       whose shift hours are nearest (zero inside them); a tie goes to the earlier slot.
    2. Else, when the moment's calendar day has no shift planned, that calendar day (shift None).
    3. Else none: the punch is unattached (listed, never dropped)."""

    shifts_on: Callable[[date], Sequence[Shift]]
    tz: ZoneInfo
    _cache: dict[date, list[Slot]] = field(default_factory=dict)

    def slots(self, day: date) -> list[Slot]:
        if day not in self._cache:
            self._cache[day] = slots_on(day, self.shifts_on(day), self.tz)
        return self._cache[day]

    def attach(self, moment: datetime) -> Slot | None:
        local = moment.astimezone(self.tz).date()
        best: Slot | None = None
        for offset in (-2, -1, 0, 1):
            for slot in self.slots(local + timedelta(days=offset)):
                if slot.shift is None or not slot.window[0] <= moment <= slot.window[1]:
                    continue
                if best is None or slot.distance(moment) < best.distance(moment):
                    best = slot
        if best is not None:
            return best
        (only, *rest) = self.slots(local)
        return only if only.shift is None and not rest else None
