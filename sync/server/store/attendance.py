"""Punches as HR reads them, manual corrections, shifts, and the timesheets built from them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from core.errors import InputError
from sync.server import timesheets
from sync.server.store import audit, webhook_rows
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_RANGE_DAYS = 366


def punches(
    store: HRStore, *, day: str | None = None, employee_no: str | None = None, device_id: str | None = None
) -> list[dict[str, Any]]:
    """Stored punches (device work day ``day``), newest device time last; with the employee's name."""
    # Fully parameterised: an unset filter is NULL (typed, so PostgreSQL can plan it) and matches all.
    sql = (
        "SELECT p.uid, p.device_id, p.seq, p.employee_no, e.name, p.direction, p.work_day, p.device_time,"
        " p.device_time_ms, p.clock_synced, p.source, p.match_score, p.liveness_score, p.received_at"
        " FROM punches p LEFT JOIN employees e ON e.employee_no = p.employee_no"
        " WHERE (CAST(? AS TEXT) IS NULL OR p.work_day = ?) AND (CAST(? AS TEXT) IS NULL OR p.employee_no = ?)"
        " AND (CAST(? AS TEXT) IS NULL OR p.device_id = ?)"
        " ORDER BY p.device_time_ms, p.uid LIMIT 50000"
    )
    params = [day or None, day, employee_no or None, employee_no, device_id or None, device_id]
    with store.db.read() as tx:
        rows = tx.execute(sql, params).dicts()
    for row in rows:
        row["clock_synced"] = bool(row["clock_synced"])
    return rows


def today_summary(store: HRStore, day: date) -> list[dict[str, Any]]:
    """Per person on ``day`` (server time zone): name, first in, last out, punch count, devices."""
    start = datetime.combine(day, time(0), store.tz)
    end = start + timedelta(days=1)
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT p.employee_no, e.name, p.direction, p.device_time_ms, p.device_id, p.clock_synced"
            " FROM punches p LEFT JOIN employees e ON e.employee_no = p.employee_no"
            " WHERE p.device_time_ms >= ? AND p.device_time_ms < ? ORDER BY p.device_time_ms",
            (_ms(start), _ms(end)),
        ).all()
    people: dict[str, dict[str, Any]] = {}
    for employee_no, name, direction, at_ms, device_id, synced in rows:
        at = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(store.tz)
        person = people.setdefault(
            employee_no,
            {
                "employee_no": employee_no,
                "name": name or "",
                "first_in": None,
                "last_out": None,
                "count": 0,
                "devices": [],
                "clock_unsynced": False,
            },
        )
        person["count"] += 1
        if direction == "in" and person["first_in"] is None:
            person["first_in"] = at
        if direction == "out":
            person["last_out"] = at
        if device_id not in person["devices"]:
            person["devices"].append(device_id)
        person["clock_unsynced"] = person["clock_unsynced"] or not synced
    return sorted(people.values(), key=lambda p: (p["name"], p["employee_no"]))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- corrections ---------------------------------------------------------------------------


def add_correction(
    store: HRStore,
    *,
    employee_no: str,
    action: Literal["add", "void", "change"],
    reason: str,
    actor: str,
    punch_uid: str | None = None,
    direction: Literal["in", "out"] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Record a manual fix with its reason (audited); the punch it corrects is never edited."""
    reason = reason.strip()
    if len(reason) < 3:
        raise InputError("A correction needs a reason.", "Say why the punch is fixed, e.g. 'badge left at home'.")
    if action == "add" and (direction is None or at is None):
        raise InputError("Adding a punch needs its direction and time.", "Give direction (in/out) and at.")
    if action in ("void", "change") and not punch_uid:
        raise InputError(f"A '{action}' correction must name the punch.", "Give punch_uid from /api/punches.")
    if action == "change" and direction is None and at is None:
        raise InputError("A 'change' correction changes nothing.", "Give a new direction or time.")
    if at is not None and at.tzinfo is None:
        raise InputError("The correction time has no UTC offset.", "Send ISO 8601 with offset, e.g. +08:00.")
    if at is not None and not timesheets.in_window(at):
        # Beyond it the time cannot even be read back (year 1 at +14:00 is year 0 in UTC): every
        # timesheet would fail. Checked here too, so every caller of the store is held to it.
        raise InputError(
            f"The correction time {at.isoformat()} is outside the accepted window (2000-01-01 to 2100-01-01 UTC).",
            "Check the date: give the time of the missed or wrong punch.",
        )
    now = store.now_iso()
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM employees WHERE employee_no = ?", (employee_no,)).one() is None:
            raise NotFound(f"There is no employee {employee_no}.", "Check the employee number.")
        if punch_uid:
            owner = tx.execute("SELECT employee_no FROM punches WHERE uid = ?", (punch_uid,)).scalar()
            if owner != employee_no:
                raise NotFound(f"Employee {employee_no} has no punch {punch_uid}.", "Check the punch uid.")
        new_id = tx.execute(
            "INSERT INTO corrections (employee_no, action, punch_uid, direction, at_ms, reason, actor, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (employee_no, action, punch_uid, direction, _ms(at) if at else None, reason, actor, now),
        ).scalar()
        detail = {
            "action": action,
            "punch_uid": punch_uid,
            "direction": direction,
            "at": at.isoformat() if at else None,
            "reason": reason,
        }
        audit.record(tx, now, actor, "correction.create", f"employee:{employee_no}", detail | {"id": new_id})
        webhook_rows.enqueue_event(tx, "correction", detail | {"employee_no": employee_no, "id": new_id}, store.now())
    return {"id": int(new_id), "employee_no": employee_no, **detail, "actor": actor, "created_at": now}


def corrections(store: HRStore, employee_no: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT id, employee_no, action, punch_uid, direction, at_ms, reason, actor, created_at, device_id"
        " FROM corrections"
    )
    with store.db.read() as tx:
        if employee_no:
            return tx.execute(sql + " WHERE employee_no = ? ORDER BY id", (employee_no,)).dicts()
        return tx.execute(sql + " ORDER BY id").dicts()


# --- shifts --------------------------------------------------------------------------------


def create_shift(
    store: HRStore,
    *,
    name: str,
    start: str,
    end: str,
    days: list[int],
    grace_in_minutes: int = 0,
    grace_out_minutes: int = 0,
    overtime_after_minutes: int = 0,
    actor: str,
) -> int:
    if not _HHMM.match(start) or not _HHMM.match(end) or start == end:
        raise InputError(f"Shift times {start!r}-{end!r} are not two different HH:MM.", "Use e.g. 09:00 and 18:00.")
    if not days or any(d not in range(1, 8) for d in days):
        raise InputError(f"Shift days {days} are not ISO weekdays.", "Use 1 (Monday) .. 7 (Sunday).")
    for value in (grace_in_minutes, grace_out_minutes, overtime_after_minutes):
        if not 0 <= value <= 720:
            raise InputError(f"{value} minutes is out of range.", "Use 0 to 720 minutes.")
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM shifts WHERE name = ?", (name,)).one() is not None:
            raise InputError(f"A shift named {name!r} exists.", "Choose another name.", code="conflict")
        new_id = tx.execute(
            "INSERT INTO shifts (name, start_time, end_time, grace_in_minutes, grace_out_minutes,"
            " overtime_after_minutes, days) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                name,
                start,
                end,
                grace_in_minutes,
                grace_out_minutes,
                overtime_after_minutes,
                ",".join(str(d) for d in sorted(set(days))),
            ),
        ).scalar()
        audit.record(tx, store.now_iso(), actor, "shift.create", f"shift:{new_id}", {"name": name})
    return int(new_id)


def shifts(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT id, name, start_time, end_time, grace_in_minutes, grace_out_minutes, overtime_after_minutes, days"
            " FROM shifts ORDER BY id"
        ).dicts()
    for row in rows:
        row["days"] = [int(d) for d in row["days"].split(",")]
    return rows


def assign_shift(store: HRStore, employee_no: str, shift_id: int, valid_from: date, actor: str) -> None:
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM employees WHERE employee_no = ?", (employee_no,)).one() is None:
            raise NotFound(f"There is no employee {employee_no}.", "Check the employee number.")
        if tx.execute("SELECT 1 FROM shifts WHERE id = ?", (shift_id,)).one() is None:
            raise NotFound(f"There is no shift {shift_id}.", "Create the shift first.")
        tx.execute(
            "INSERT INTO employee_shifts (employee_no, shift_id, valid_from) VALUES (?, ?, ?)"
            " ON CONFLICT (employee_no, valid_from) DO UPDATE SET shift_id = excluded.shift_id",
            (employee_no, shift_id, valid_from.isoformat()),
        )
        audit.record(
            tx,
            store.now_iso(),
            actor,
            "shift.assign",
            f"employee:{employee_no}",
            {"shift_id": shift_id, "valid_from": valid_from.isoformat()},
        )


def _shift_model(row: dict[str, Any]) -> timesheets.Shift:
    return timesheets.Shift(
        name=row["name"],
        start=time.fromisoformat(row["start_time"]),
        end=time.fromisoformat(row["end_time"]),
        grace_in_minutes=row["grace_in_minutes"],
        grace_out_minutes=row["grace_out_minutes"],
        overtime_after_minutes=row["overtime_after_minutes"],
        days=frozenset(row["days"]),
    )


# --- timesheets ----------------------------------------------------------------------------


def load_timesheets(store: HRStore, first: date, last: date, employee_no: str | None = None) -> list[timesheets.DayRow]:
    """Timesheet rows for every (non-erased, or punching) employee and day in [first, last]."""
    if last < first or (last - first).days >= MAX_RANGE_DAYS:
        raise InputError(
            f"The range {first}..{last} is empty or longer than {MAX_RANGE_DAYS} days.",
            "Give from <= to, at most a year apart.",
            code="bad-range",
        )
    # Two days of margin each side: overnight shifts and spans that start the day before.
    lo = _ms(datetime.combine(first - timedelta(days=2), time(0), store.tz))
    hi = _ms(datetime.combine(last + timedelta(days=3), time(0), store.tz))
    shift_rows = {row["id"]: _shift_model(row) for row in shifts(store)}
    with store.db.read() as tx:
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
        punch_rows = tx.execute(
            "SELECT employee_no, uid, direction, device_time_ms, clock_synced, device_id FROM punches"
            " WHERE device_time_ms >= ? AND device_time_ms < ? ORDER BY device_time_ms",
            (lo, hi),
        ).all()
        correction_rows = tx.execute(
            "SELECT employee_no, id, action, punch_uid, direction, at_ms, reason FROM corrections ORDER BY id"
        ).all()
        assignment_rows = tx.execute(
            "SELECT employee_no, shift_id, valid_from FROM employee_shifts ORDER BY valid_from"
        ).all()
    by_person: dict[str, list[timesheets.TimedPunch]] = {}
    for no, uid, direction, at_ms, synced, device_id in punch_rows:
        at = timesheets.from_unix_ms(at_ms)  # None: outside the sane window, left out of the report
        if at is not None:
            by_person.setdefault(no, []).append(timesheets.TimedPunch(uid, direction, at, bool(synced), device_id))
    fixes: dict[str, list[timesheets.Correction]] = {}
    for no, cid, action, uid, direction, at_ms, reason in correction_rows:
        fix_at = timesheets.from_unix_ms(at_ms) if at_ms is not None else None
        if at_ms is not None and fix_at is None:
            continue  # a time no report can place (e.g. 2^63-1 ms): the correction is left out, not the report
        fixes.setdefault(no, []).append(timesheets.Correction(int(cid), action, uid, direction, fix_at, reason))
    plans: dict[str, list[tuple[date, int]]] = {}
    for no, shift_id, valid_from in assignment_rows:
        plans.setdefault(no, []).append((date.fromisoformat(valid_from), int(shift_id)))
    now = store.now()
    rows: list[timesheets.DayRow] = []
    for person in people:
        plan = plans.get(person, [])

        def shift_for(day: date, plan: list[tuple[date, int]] = plan) -> timesheets.Shift | None:
            current = None
            for valid_from, shift_id in plan:
                if valid_from <= day:
                    current = shift_rows.get(shift_id)
            return current

        rows.extend(
            timesheets.timesheet(
                person, first, last, by_person.get(person, []), fixes.get(person, []), shift_for, store.tz, now
            )
        )
    return rows
