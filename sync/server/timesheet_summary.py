"""What HR's timesheet page shows, from the rows ``sync.server.timesheets`` computed (pure, no database):
the filters (site, device, shift, name or number), per-person totals for the period with paging, and the
attendance-rate and lateness trend per day.

The rows are computed once per request for the whole range (``timesheet_reader.load``); everything here
is one pass over them, so a page of thousands of people costs one computation, not one per person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sync.server.timesheets import CLOCK_UNSYNCED, DayRow

#: Statuses that count as "came to work" (the day's attendance) and those that were expected at all.
PRESENT = frozenset({"present", "half_day"})
EXPECTED = PRESENT | {"absent"}
PAGE_SIZES = (25, 50, 100, 200)
MAX_QUERY = 64


@dataclass(frozen=True)
class Filters:
    """The page's filters (each empty = all). ``site`` and ``device`` pick people who punched at, or are
    assigned to, a device there; ``shift`` keeps only the days of that shift; ``q`` matches a name or
    employee number (case-insensitive, part of it)."""

    site: str = ""
    device: str = ""
    shift: str = ""
    q: str = ""

    def query(self) -> dict[str, str]:
        """The non-empty filters as query parameters (for links that keep them)."""
        values = {"site": self.site, "device": self.device, "shift": self.shift, "q": self.q}
        return {k: v for k, v in values.items() if v}


@dataclass
class Totals:
    employee_no: str
    name: str
    worked_minutes: int = 0
    late_minutes: int = 0
    early_leave_minutes: int = 0
    overtime_minutes: int = 0
    absences: int = 0
    days_present: int = 0
    late_days: int = 0
    open_days: int = 0
    missing_punches: int = 0
    unsynced_days: int = 0

    def add(self, row: DayRow) -> None:
        self.worked_minutes += row.worked_minutes
        self.late_minutes += row.late_minutes
        self.early_leave_minutes += row.early_leave_minutes
        self.overtime_minutes += row.overtime_minutes
        self.absences += row.status == "absent"
        self.days_present += row.status in PRESENT
        self.late_days += row.late_minutes > 0
        self.open_days += not row.finalised
        self.missing_punches += row.missing_punch
        self.unsynced_days += CLOCK_UNSYNCED in row.flags

    @property
    def worked_hours(self) -> str:
        return f"{self.worked_minutes // 60}:{self.worked_minutes % 60:02d}"


@dataclass(frozen=True)
class TrendDay:
    """One day of the chart: people expected (present, half day or absent), present, and late."""

    day: date
    expected: int
    present: int
    late: int

    @property
    def attendance_rate(self) -> float | None:
        return self.present / self.expected if self.expected else None

    @property
    def late_rate(self) -> float | None:
        """Late ÷ present (the share of those who came who came late)."""
        return self.late / self.present if self.present else None


@dataclass(frozen=True)
class Page:
    people: list[Totals]
    number: int
    size: int
    total_people: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_people // self.size))


def select(
    rows: Iterable[DayRow],
    names: Mapping[str, str],
    filters: Filters,
    devices: frozenset[str] | None = None,
    assigned: frozenset[str] = frozenset(),
) -> list[DayRow]:
    """The rows the filters keep. ``devices``: the device ids the site/device filter names (None: no such
    filter); a person is kept who punched on one of them in the period or is ``assigned`` to one."""
    wanted = filters.q.strip().casefold()[:MAX_QUERY]
    kept = list(rows)
    if devices is not None:
        there = assigned | {r.employee_no for r in kept if devices.intersection(r.devices)}
        kept = [r for r in kept if r.employee_no in there]
    if filters.shift:
        kept = [r for r in kept if r.shift == filters.shift]
    if wanted:
        kept = [
            r for r in kept
            if wanted in r.employee_no.casefold() or wanted in names.get(r.employee_no, "").casefold()
        ]
    return kept


def totals(rows: Iterable[DayRow], names: Mapping[str, str]) -> list[Totals]:
    """One line per person, sorted by name then number."""
    by_person: dict[str, Totals] = {}
    for row in rows:
        person = by_person.get(row.employee_no)
        if person is None:
            person = by_person[row.employee_no] = Totals(row.employee_no, names.get(row.employee_no, ""))
        person.add(row)
    return sorted(by_person.values(), key=lambda p: (p.name == "", p.name, p.employee_no))


def page_of(people: Sequence[Totals], number: int, size: int) -> Page:
    size = size if size in PAGE_SIZES else PAGE_SIZES[1]
    last_page = max(1, -(-len(people) // size))
    number = min(max(1, number), last_page)
    start = (number - 1) * size
    return Page(list(people[start : start + size]), number, size, len(people))


def trend(rows: Iterable[DayRow], first: date, last: date) -> list[TrendDay]:
    """Per day of [first, last]: expected, present and late people (one row per person and shift)."""
    expected: dict[date, int] = {}
    present: dict[date, int] = {}
    late: dict[date, int] = {}
    for row in rows:
        if row.status in EXPECTED:
            expected[row.day] = expected.get(row.day, 0) + 1
        if row.status in PRESENT:
            present[row.day] = present.get(row.day, 0) + 1
            late[row.day] = late.get(row.day, 0) + (row.late_minutes > 0)
    days = []
    day = first
    while day <= last:
        days.append(TrendDay(day, expected.get(day, 0), present.get(day, 0), late.get(day, 0)))
        day = date.fromordinal(day.toordinal() + 1)
    return days
