"""Timesheets from the store: every employee's punches, corrections and plan (shifts, assignments,
holiday calendar, manual records) read in one transaction and computed by ``sync.server.timesheets``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from core.errors import InputError
from sync.server import finality, timesheets
from sync.server.shift_model import Plan
from sync.server.store import attendance_plan, sync_marks
from sync.server.store.shift_rules import read_shifts, shift_model

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

MAX_RANGE_DAYS = 366


@dataclass
class Report:
    rows: list[timesheets.DayRow] = field(default_factory=list)
    #: per employee, the punches no shift window holds (listed so that none vanishes)
    unattached: dict[str, list[timesheets.TimedPunch]] = field(default_factory=dict)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def load(store: HRStore, first: date, last: date, employee_no: str | None = None) -> Report:
    """Rows for every (non-erased, or punching) employee and day in [first, last]."""
    if last < first or (last - first).days >= MAX_RANGE_DAYS:
        raise InputError(
            f"The range {first}..{last} is empty or longer than {MAX_RANGE_DAYS} days.",
            "Give from <= to, at most a year apart.",
            code="bad-range",
        )
    # Two days of margin each side: overnight shifts and windows that open the day before.
    lo = _ms(datetime.combine(first - timedelta(days=2), time(0), store.tz))
    hi = _ms(datetime.combine(last + timedelta(days=3), time(0), store.tz))
    with store.db.read() as tx:
        shifts = {int(row["id"]): shift_model(row) for row in read_shifts(tx)}
        people = [
            r[0]
            for r in tx.execute(
                "SELECT employee_no FROM employees WHERE erased_at IS NULL OR erased_at >= ?"
                " UNION SELECT DISTINCT employee_no FROM punches WHERE device_time_ms >= ? AND device_time_ms < ?"
                " ORDER BY 1",
                (first.isoformat(), lo, hi),
            ).all()
        ]
        if employee_no is not None:
            people = [p for p in people if p == employee_no] or [employee_no]
        # One person's sheet (self-service, ?employee_no=) reads only their rows, not the whole site's
        # (an unset filter is a typed NULL, which PostgreSQL can plan, and matches everyone).
        who = [employee_no, employee_no]
        punch_rows = tx.execute(
            "SELECT employee_no, uid, direction, device_time_ms, clock_synced, device_id FROM punches"
            " WHERE device_time_ms >= ? AND device_time_ms < ? AND (CAST(? AS TEXT) IS NULL OR employee_no = ?)"
            " ORDER BY device_time_ms",
            [lo, hi, *who],
        ).all()
        correction_rows = tx.execute(
            "SELECT employee_no, id, action, punch_uid, direction, at_ms, reason FROM corrections"
            " WHERE CAST(? AS TEXT) IS NULL OR employee_no = ? ORDER BY id", who,
        ).all()
        plans = attendance_plan.plans(tx, shifts, first, last)
        devices = [finality.Device(d.device_id, d.site, d.active, sync_marks.as_datetime(d.synced_through_ms))
                   for d in sync_marks.device_marks(tx)]
        known_by: dict[str, set[str]] = {}
        for device_id, no in tx.execute("SELECT device_id, employee_no FROM device_assignments").all():
            known_by.setdefault(no, set()).add(device_id)
    by_person: dict[str, list[timesheets.TimedPunch]] = {}
    for no, uid, direction, at_ms, synced, device_id in punch_rows:
        known_by.setdefault(no, set()).add(device_id)
        at = timesheets.from_unix_ms(at_ms)  # None: outside the sane window, left out of the report
        if at is not None:
            by_person.setdefault(no, []).append(timesheets.TimedPunch(uid, direction, at, bool(synced), device_id))
    fixes: dict[str, list[timesheets.Correction]] = {}
    for no, cid, action, uid, direction, at_ms, reason in correction_rows:
        fix_at = timesheets.from_unix_ms(at_ms) if at_ms is not None else None
        if at_ms is not None and fix_at is None:
            continue  # a time no report can place (e.g. 2^63-1 ms): the correction is left out, not the report
        fixes.setdefault(no, []).append(timesheets.Correction(int(cid), action, uid, direction, fix_at, reason))
    now = store.now()
    report = Report()
    for person in people:
        sheet = timesheets.compute(person, first, last, by_person.get(person, []), fixes.get(person, []),
                                   plans.get(person, Plan()), store.tz, now,
                                   finality.holders(devices, known_by.get(person, set())))
        report.rows.extend(sheet.rows)
        lost = [p for p in sheet.unattached if first <= p.at.astimezone(store.tz).date() <= last]
        if lost:
            report.unattached[person] = lost
    return report
