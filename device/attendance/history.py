"""The stored punches and names the attendance rules look at (read-only queries)."""

from __future__ import annotations

from device.attendance.outcomes import Direction
from device.attendance.rules import PreviousPunch
from device.store import Store


def latest_punch(store: Store, employee_no: str) -> PreviousPunch | None:
    """The person's most recently *recorded* punch on any day (debounce looks at this).

    Ordered by row id, not device time: after the clock is corrected backwards the newest punch may
    carry an older time, and it is still the one just made.
    """
    row = store.conn.execute(
        "SELECT direction, device_time_ms, work_day FROM punches WHERE employee_no = ? ORDER BY id DESC LIMIT 1",
        (employee_no,),
    ).fetchone()
    return PreviousPunch(row[0], int(row[1]), row[2]) if row else None


def last_direction_on(store: Store, employee_no: str, work_day: str) -> Direction | None:
    """Direction of the person's latest punch (by time) on ``work_day``; the alternating rule follows it."""
    row = store.conn.execute(
        "SELECT direction FROM punches WHERE employee_no = ? AND work_day = ? "
        "ORDER BY device_time_ms DESC, id DESC LIMIT 1",
        (employee_no, work_day),
    ).fetchone()
    if row is None:
        return None
    return "in" if row[0] == "in" else "out"


def employee_name(store: Store, employee_no: str) -> str:
    row = store.conn.execute("SELECT name FROM employees WHERE employee_no = ?", (employee_no,)).fetchone()
    return str(row[0]) if row else employee_no
