"""The stored punches and names the attendance rules look at, in the rules' own types (the SQL is in
``device.store``)."""

from __future__ import annotations

from device.attendance.outcomes import Direction
from device.attendance.rules import PreviousPunch
from device.store import Store, employees, punches


def latest_punch(store: Store, employee_no: str) -> PreviousPunch | None:
    """The person's most recently *recorded* punch on any day (debounce looks at this)."""
    found = punches.latest_punch(store, employee_no)
    return PreviousPunch(*found) if found else None


def last_direction_on(store: Store, employee_no: str, work_day: str) -> Direction | None:
    """Direction of the person's latest punch (by time) on ``work_day``; the alternating rule follows it."""
    found = punches.last_punch(store, employee_no, work_day)
    return found[0] if found else None


def employee_name(store: Store, employee_no: str) -> str:
    return employees.name_of(store, employee_no) or employee_no
