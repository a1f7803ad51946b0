"""Timesheet rules, table-driven: each case is a day of punches and the row it must produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.server.timesheets import Correction, DayRow, Shift, TimedPunch, timesheet

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 3, 2)
DAY_SHIFT = Shift("day", time(9), time(18), grace_in_minutes=5, grace_out_minutes=5, overtime_after_minutes=30)
NIGHT_SHIFT = Shift("night", time(22), time(6), grace_in_minutes=5, grace_out_minutes=5, overtime_after_minutes=30)
LATER = datetime(2026, 3, 10, tzinfo=TZ)  # "now": every day of the cases is over


def at(hhmm: str, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), TZ)


def p(direction: str, hhmm: str, day: date = MONDAY, synced: bool = True) -> TimedPunch:
    return TimedPunch(f"{direction}-{day}-{hhmm}", "in" if direction == "in" else "out", at(hhmm, day), synced, "g1")


@dataclass
class Case:
    name: str
    punches: list[TimedPunch]
    expect: dict[str, object]
    shift: Shift | None = DAY_SHIFT
    corrections: list[Correction] = field(default_factory=list)
    day: date = MONDAY
    now: datetime = LATER


CASES = [
    Case("on time", [p("in", "08:58"), p("out", "18:02")],
         {"worked_minutes": 544, "late_minutes": 0, "early_leave_minutes": 0, "overtime_minutes": 0, "flags": ()}),
    Case("late within grace", [p("in", "09:04"), p("out", "18:00")], {"late_minutes": 0, "flags": ()}),
    Case("late beyond grace", [p("in", "09:07"), p("out", "18:00")], {"late_minutes": 7, "flags": ("late",)}),
    Case("early leave", [p("in", "09:00"), p("out", "17:40")],
         {"early_leave_minutes": 20, "flags": ("early-leave",)}),
    Case("early leave within grace", [p("in", "09:00"), p("out", "17:56")], {"early_leave_minutes": 0, "flags": ()}),
    Case("overtime beyond threshold", [p("in", "09:00"), p("out", "19:00")],
         {"worked_minutes": 600, "overtime_minutes": 60, "flags": ("overtime",)}),
    Case("extra time under threshold is not overtime", [p("in", "09:00"), p("out", "18:20")],
         {"overtime_minutes": 0, "flags": ()}),
    Case("missing out", [p("in", "09:00")],
         {"missing_punch": True, "worked_minutes": 0, "last_out": None, "flags": ("missing-punch",)}),
    Case("missing in", [p("out", "18:00")],
         {"missing_punch": True, "first_in": None, "flags": ("missing-punch",)}),
    Case("absence", [], {"absent": True, "flags": ("absent",)}),
    Case("weekend is not an absence", [], {"absent": False, "scheduled": False, "flags": ()},
         day=MONDAY - timedelta(days=1)),
    Case("duplicate punches within a minute collapse",
         [p("in", "09:00"), TimedPunch("dup", "in", at("09:00") + timedelta(seconds=40)), p("out", "18:00")],
         {"worked_minutes": 540, "missing_punch": False, "flags": ()}),
    Case("lunch break pairs", [p("in", "09:00"), p("out", "12:00"), p("in", "13:00"), p("out", "18:00")],
         {"worked_minutes": 480, "first_in": at("09:00"), "last_out": at("18:00"), "flags": ()}),
    Case("overnight shift crossing midnight",
         [p("in", "21:58"), p("out", "06:03", MONDAY + timedelta(days=1))],
         {"worked_minutes": 485, "late_minutes": 0, "missing_punch": False, "flags": ()}, shift=NIGHT_SHIFT),
    Case("overnight shift: late and early", [p("in", "22:30"), p("out", "05:00", MONDAY + timedelta(days=1))],
         {"late_minutes": 30, "early_leave_minutes": 60, "flags": ("late", "early-leave")}, shift=NIGHT_SHIFT),
    Case("correction adds the missed out",
         [p("in", "09:00")],
         {"worked_minutes": 540, "missing_punch": False, "flags": ("corrected",)},
         corrections=[Correction(1, "add", direction="out", at=at("18:00"), reason="forgot")]),
    Case("correction voids a wrong punch",
         [p("in", "09:00"), p("out", "10:00"), p("out", "18:00")],
         {"worked_minutes": 540, "flags": ("corrected",)},
         corrections=[Correction(1, "void", punch_uid="out-2026-03-02-10:00", reason="walked past")]),
    Case("correction changes a punch's time",
         [p("in", "09:40"), p("out", "18:00")],
         {"late_minutes": 0, "first_in": at("09:00"), "flags": ("corrected",)},
         corrections=[Correction(1, "change", punch_uid="in-2026-03-02-09:40", at=at("09:00"), reason="queue")]),
    Case("unsynced clock is flagged", [p("in", "09:00", synced=False), p("out", "18:00")],
         {"flags": ("clock-unsynced",)}),
    Case("no shift: calendar day, no late or overtime", [p("in", "11:00"), p("out", "23:00")],
         {"worked_minutes": 720, "late_minutes": 0, "overtime_minutes": 0, "scheduled": False, "flags": ()},
         shift=None),
    Case("rest day work is overtime", [p("in", "10:00", MONDAY - timedelta(days=1)),
                                       p("out", "12:00", MONDAY - timedelta(days=1))],
         {"overtime_minutes": 120, "flags": ("overtime", "rest-day")}, day=MONDAY - timedelta(days=1)),
    Case("open in while the day runs is in progress, not missing", [p("in", "09:00")],
         {"missing_punch": False, "flags": ("in-progress",)}, now=at("12:00")),
    Case("today before the shift ends is not an absence yet", [], {"absent": False, "flags": ()}, now=at("08:00")),
]


def row_for(case: Case) -> DayRow:
    (row,) = timesheet("E001", case.day, case.day, case.punches, case.corrections, lambda d: case.shift, TZ,
                       case.now)
    return row


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_timesheet_rule(case: Case) -> None:
    row = row_for(case)
    got = {key: getattr(row, key) for key in case.expect}
    assert got == case.expect


def test_corrected_punch_keeps_the_original_out_of_the_day_but_not_out_of_the_input() -> None:
    punches = [p("in", "09:40"), p("out", "18:00")]
    fix = Correction(1, "change", punch_uid="in-2026-03-02-09:40", at=at("09:00"), reason="queue")
    row = row_for(Case("x", punches, {}, corrections=[fix]))
    assert [q.uid for q in row.punches] == ["correction:1", "out-2026-03-02-18:00"]
    assert punches[0].uid == "in-2026-03-02-09:40"  # the input (the store's punch) is untouched


def test_overnight_morning_punch_belongs_to_the_previous_evening() -> None:
    punches = [p("in", "22:00"), p("out", "06:00", MONDAY + timedelta(days=1))]
    monday, tuesday = timesheet("E001", MONDAY, MONDAY + timedelta(days=1), punches, [], lambda d: NIGHT_SHIFT, TZ,
                                LATER)
    assert monday.worked_minutes == 480 and monday.flags == ()
    assert tuesday.absent and tuesday.punches == ()
