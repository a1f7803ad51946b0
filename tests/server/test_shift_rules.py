"""Shift rules, table-driven, through the contract form (``edgehr timesheets compute``).

Cases from the suites' published documentation (Frappe HRMS "Shift Type": check-in/check-out windows,
late entry / early exit grace with marking switches, half-day and absent working-hours thresholds,
alternating vs log-type directions, first-in-last-out vs every pair, attendance on holidays; Odoo
attendance: overtime only beyond the tolerance, rest days all overtime) and our own edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sync.server.timesheet_contract import compute_case, compute_line

MON, TUE = "2026-03-02", "2026-03-03"  # a Monday and the Tuesday after it
SUN = "2026-03-01"
LATER = "2026-03-10T00:00:00"


def shift(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "day", "start": "09:00", "end": "18:00", "checkin_before_start_min": 60,
        "checkout_after_end_min": 60, "late_grace_min": 5, "early_grace_min": 5, "late_marking": True,
        "early_marking": True, "half_day_below_hours": None, "absent_below_hours": None, "direction": "typed",
        "hours": "pairs", "mark_on_holidays": False, "weekdays": [0, 1, 2, 3, 4],
    }
    return base | over


def pin(hhmm: str, d: str | None = "in", day: str = MON) -> dict[str, Any]:
    return {"time": f"{day}T{hhmm}:00", "dir": d}


@dataclass
class Case:
    name: str
    punches: list[dict[str, Any]]
    expect: dict[str, Any]  # fields of the first day row
    shifts: list[dict[str, Any]] = field(default_factory=lambda: [shift()])
    extra: dict[str, Any] = field(default_factory=dict)
    day: str = MON
    now: str = LATER


def run(case: Case) -> dict[str, Any]:
    doc = {"id": case.name, "shifts": case.shifts, "default_shift": case.shifts[0]["name"] if case.shifts else None,
           "assignments": [], "holidays": [], "manual": [], "punches": case.punches, "from": case.day,
           "to": case.day, "now": case.now} | case.extra
    return compute_case(doc)


CASES = [
    # --- windows (Frappe: begin check-in before start / allow check-out after end; edges inclusive)
    Case("check-in exactly at the window's opening counts", [pin("08:00"), pin("18:00", "out")],
         {"status": "present", "worked_hours": 10.0}),
    Case("check-in a minute before the window is unattached", [pin("07:59"), pin("18:00", "out")],
         {"first_in": None, "flags": ["missing-punch"]}),
    Case("check-out exactly at the window's close counts", [pin("09:00"), pin("19:00", "out")],
         {"last_out": f"{MON}T19:00:00"}),
    Case("check-out after the window is unattached", [pin("09:00"), pin("19:01", "out")],
         {"last_out": None, "flags": ["missing-punch"]}),
    # --- late / early grace (strictly after start + grace is late; minutes from the start)
    Case("in at start + grace is not late", [pin("09:05"), pin("18:00", "out")], {"late": False, "late_minutes": 0}),
    Case("in a minute past the grace is late, counted from the start", [pin("09:06"), pin("18:00", "out")],
         {"late": True, "late_minutes": 6}),
    Case("late marking off: never late", [pin("09:30"), pin("18:00", "out")], {"late": False, "late_minutes": 0},
         shifts=[shift(late_marking=False)]),
    Case("out at end - grace is not early", [pin("09:00"), pin("17:55", "out")], {"early": False}),
    Case("out a minute before end - grace is early", [pin("09:00"), pin("17:54", "out")],
         {"early": True, "early_minutes": 6}),
    Case("early marking off: never early", [pin("09:00"), pin("15:00", "out")], {"early": False},
         shifts=[shift(early_marking=False)]),
    # --- thresholds (Frappe: absent checked before half day; strictly below)
    Case("worked exactly the half-day threshold is present", [pin("09:00"), pin("13:00", "out")],
         {"status": "present"}, shifts=[shift(half_day_below_hours=4, absent_below_hours=2)]),
    Case("a minute below the half-day threshold is half day", [pin("09:00"), pin("12:59", "out")],
         {"status": "half_day"}, shifts=[shift(half_day_below_hours=4, absent_below_hours=2)]),
    Case("below the absent threshold is absent, not half day", [pin("09:00"), pin("10:30", "out")],
         {"status": "absent", "flags": ["early-leave", "absent"]},
         shifts=[shift(half_day_below_hours=4, absent_below_hours=2)]),
    Case("a lone in works no hours: absent below the threshold", [pin("09:00")],
         {"status": "absent", "worked_hours": 0.0}, shifts=[shift(absent_below_hours=2)]),
    Case("no punches on a working day is absent", [], {"status": "absent", "flags": ["absent"]}),
    # --- directions and hours
    Case("typed: two ins keep the earlier and flag the missing out", [pin("09:00"), pin("10:00"), pin("18:00", "out")],
         {"worked_hours": 9.0, "first_in": f"{MON}T09:00:00", "flags": ["missing-punch"]}),
    Case("typed: an out without an in is a missing punch", [pin("12:00", "out"), pin("13:00"), pin("18:00", "out")],
         {"worked_hours": 5.0, "flags": ["late", "missing-punch"]}),
    Case("alternate: directions by order, given ones ignored", [pin("09:00", "out"), pin("12:00", "out"),
                                                                  pin("13:00", "in"), pin("18:00", "in")],
         {"worked_hours": 8.0, "first_in": f"{MON}T09:00:00", "last_out": f"{MON}T18:00:00", "flags": []},
         shifts=[shift(direction="alternate")]),
    Case("alternate: an odd count leaves the last in open", [pin("09:00", None), pin("12:00", None),
                                                              pin("13:00", None)],
         {"worked_hours": 3.0, "flags": ["early-leave", "missing-punch"]}, shifts=[shift(direction="alternate")]),
    Case("typed with untyped punches alternates them", [pin("09:00", None), pin("18:00", None)],
         {"worked_hours": 9.0, "flags": []}),
    Case("first_last: lunch break counted", [pin("09:00"), pin("12:00", "out"), pin("13:00"), pin("18:00", "out")],
         {"worked_hours": 9.0}, shifts=[shift(hours="first_last")]),
    Case("pairs: lunch break not counted", [pin("09:00"), pin("12:00", "out"), pin("13:00"), pin("18:00", "out")],
         {"worked_hours": 8.0}),
    Case("duplicate scans within a minute collapse", [pin("09:00"), {"time": f"{MON}T09:00:40", "dir": "in"},
                                                       pin("18:00", "out")], {"worked_hours": 9.0, "flags": []}),
    Case("alternate: a double scan does not flip directions", [pin("09:00", None),
                                                              {"time": f"{MON}T09:00:30", "dir": None},
                                                              pin("18:00", None)],
         {"worked_hours": 9.0, "flags": []}, shifts=[shift(direction="alternate")]),
    # --- overtime (Odoo: extra time under the tolerance is not overtime)
    Case("overtime under the tolerance is none", [pin("09:00"), pin("18:20", "out")], {"overtime_minutes": 0},
         shifts=[shift(overtime_after_min=30)]),
    Case("overtime beyond the tolerance counts whole", [pin("09:00"), pin("18:40", "out")],
         {"overtime_minutes": 40, "flags": ["overtime"]}, shifts=[shift(overtime_after_min=30)]),
    # --- rest days, holidays, manual records
    Case("a weekday the shift does not run is a rest day", [], {"status": "rest_day", "flags": []}, day=SUN),
    Case("work on a rest day is all overtime", [pin("10:00", day=SUN), pin("12:00", "out", day=SUN)],
         {"status": "rest_day", "overtime_minutes": 120, "flags": ["overtime", "rest-day"]}, day=SUN),
    Case("holiday: no absence", [], {"status": "holiday", "flags": []}, extra={"holidays": [MON]}),
    Case("holiday, marking off: punches are overtime, status holiday", [pin("09:00"), pin("12:00", "out")],
         {"status": "holiday", "overtime_minutes": 180, "flags": ["overtime", "holiday"]}, extra={"holidays": [MON]}),
    Case("holiday, marking on, punches: attendance computed", [pin("09:00"), pin("18:00", "out")],
         {"status": "present"}, shifts=[shift(mark_on_holidays=True)], extra={"holidays": [MON]}),
    Case("holiday, marking on, no punches: holiday, not absent", [], {"status": "holiday"},
         shifts=[shift(mark_on_holidays=True)], extra={"holidays": [MON]}),
    Case("leave wins over punches", [pin("09:00"), pin("18:00", "out")], {"status": "on_leave", "finalised": True,
                                                                            "flags": ["manual"]},
         extra={"manual": [{"date": MON, "status": "on_leave", "shift": None}]}),
    Case("manual present wins over no punches", [], {"status": "present", "flags": ["manual"]},
         extra={"manual": [{"date": MON, "status": "present", "shift": "day"}]}),
    # --- finalised and open
    Case("before the check-out window closes the day is open", [pin("09:00"), pin("18:00", "out")],
         {"status": "open", "finalised": False}, now=f"{MON}T19:00:00"),
    Case("a minute after the window closes it is final", [pin("09:00"), pin("18:00", "out")],
         {"status": "present", "finalised": True}, now=f"{MON}T19:01:00"),
    Case("an open in while the day runs is in progress", [pin("09:00")],
         {"status": "open", "flags": ["in-progress"]}, now=f"{MON}T12:00:00"),
    # --- no shift
    Case("no shift planned: the calendar day, no absence", [], {"shift": None, "status": "rest_day"}, shifts=[]),
    Case("no shift planned, punches: present", [pin("11:00"), pin("23:00", "out")],
         {"shift": None, "status": "present", "worked_hours": 12.0}, shifts=[]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    row = run(case)["days"][0]
    assert {k: row[k] for k in case.expect} == case.expect


NIGHT = shift(name="night", start="00:30", end="08:30", weekdays=None)


def test_check_in_before_a_shift_after_midnight_on_the_first_assigned_day_is_filed_on_that_day() -> None:
    # The wrong day the issue lists: the 23:50 check-in was filed on the unassigned day before.
    out = compute_case({"id": "x", "shifts": [NIGHT], "assignments": [{"shift": "night", "from": TUE, "to": None}],
                        "punches": [pin("23:50", "in", MON), pin("08:31", "out", TUE)],
                        "from": MON, "to": TUE, "now": LATER})
    mon, tue = out["days"]
    assert (mon["shift"], mon["status"], mon["flags"]) == (None, "rest_day", [])
    assert (tue["shift"], tue["status"], tue["worked_hours"], tue["flags"]) == ("night", "present", 8.68, ["overtime"])
    assert [p["date"] for p in out["punches"]] == [TUE, TUE]


def test_a_punch_between_an_unassigned_day_and_the_first_window_is_listed_unattached() -> None:
    out = compute_case({"id": "x", "shifts": [shift()], "assignments": [{"shift": "day", "from": TUE, "to": None}],
                        "punches": [pin("06:00", "in", TUE), pin("09:00", "in", TUE), pin("18:00", "out", TUE)],
                        "from": MON, "to": TUE, "now": LATER})
    assert out["punches"][0] == {"time": f"{TUE}T06:00:00", "shift": None, "date": None}
    assert out["days"][1]["worked_hours"] == 9.0


def test_assignment_end_falls_back_to_the_default_shift() -> None:
    late = shift(name="late", start="13:00", end="22:00", weekdays=None)
    out = compute_case({"id": "x", "shifts": [shift(weekdays=None), late], "default_shift": "day",
                        "assignments": [{"shift": "late", "from": MON, "to": MON}], "punches": [],
                        "from": MON, "to": TUE, "now": LATER})
    assert [(d["date"], d["shift"]) for d in out["days"]] == [(MON, "late"), (TUE, "day")]


def test_two_assignments_on_one_day_give_two_rows_and_punches_go_to_the_nearest() -> None:
    am = shift(name="am", start="08:00", end="12:00", weekdays=None)
    pm = shift(name="pm", start="14:00", end="18:00", weekdays=None)
    out = compute_case({"id": "x", "shifts": [am, pm], "assignments": [{"shift": "am", "from": MON, "to": MON},
                                                                       {"shift": "pm", "from": MON, "to": MON}],
                        "punches": [pin("08:00"), pin("12:30", "out"), pin("13:30"), pin("18:00", "out")],
                        "from": MON, "to": MON, "now": LATER})
    assert [(d["shift"], d["worked_hours"]) for d in out["days"]] == [("am", 4.5), ("pm", 4.5)]
    assert [p["shift"] for p in out["punches"]] == ["am", "am", "pm", "pm"]


def test_overnight_shift_keeps_its_morning_punches() -> None:
    night = shift(name="n", start="22:00", end="06:00", weekdays=None)
    out = compute_case({"id": "x", "shifts": [night], "default_shift": "n",
                        "punches": [pin("21:30", "in", MON), pin("06:30", "out", TUE)],
                        "from": MON, "to": TUE, "now": LATER})
    assert out["days"][0]["worked_hours"] == 9.0 and out["days"][1]["status"] == "absent"


def test_errors_are_reported_per_line() -> None:
    assert compute_line("{", 3) == {"id": None, "line": 3, "error": "not JSON: Expecting property name enclosed in "
                                    "double quotes at column 2"}
    bad = compute_line('{"id": "k", "shifts": [], "default_shift": "nope", "from": "2026-03-02", "to": "2026-03-02",'
                       ' "now": "2026-03-03T00:00:00"}', 1)
    assert bad["id"] == "k" and "nope" in bad["error"]
    offset = compute_line('{"id": "o", "from": "2026-03-02", "to": "2026-03-02", "now": "2026-03-03T00:00:00+08:00"}',
                          2)
    assert "offset" in offset["error"]
