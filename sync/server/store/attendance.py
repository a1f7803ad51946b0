"""Punches as HR reads them, manual corrections, shifts, and the timesheets built from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from core.errors import InputError
from sync.server import timesheets
from sync.server.store import audit, shift_rules, timesheet_reader, webhook_rows
from sync.server.store.employees import NotFound
from sync.server.store.shift_rules import RULE_COLUMNS, ShiftRules

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_RANGE_DAYS = timesheet_reader.MAX_RANGE_DAYS


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


@dataclass(frozen=True)
class CorrectionRequest:
    """A manual fix HR asks for: add a punch, void one, or change one's direction or time."""

    employee_no: str
    action: Literal["add", "void", "change"]
    reason: str
    punch_uid: str | None = None
    direction: Literal["in", "out"] | None = None
    at: datetime | None = None


def add_correction(store: HRStore, fix: CorrectionRequest, actor: str) -> dict[str, Any]:
    """Record a manual fix with its reason (audited); the punch it corrects is never edited."""
    employee_no, action, punch_uid, direction, at = fix.employee_no, fix.action, fix.punch_uid, fix.direction, fix.at
    reason = fix.reason.strip()
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
    rules: ShiftRules | None = None,
) -> int:
    rules = rules or ShiftRules()
    _check_shift(start, end, days, (grace_in_minutes, grace_out_minutes, overtime_after_minutes), rules)
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM shifts WHERE name = ?", (name,)).one() is not None:
            raise InputError(f"A shift named {name!r} exists.", "Choose another name.", code="conflict")
        new_id = tx.execute(
            "INSERT INTO shifts (name, start_time, end_time, grace_in_minutes, grace_out_minutes,"  # noqa: S608 - fixed column names
            " overtime_after_minutes, days, " + ", ".join(RULE_COLUMNS) + ")"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                name,
                start,
                end,
                grace_in_minutes,
                grace_out_minutes,
                overtime_after_minutes,
                ",".join(str(d) for d in sorted(set(days))),
                *rules.values(),
            ),
        ).scalar()
        audit.record(tx, store.now_iso(), actor, "shift.create", f"shift:{new_id}", {"name": name})
    return int(new_id)


def _check_shift(start: str, end: str, days: list[int], minutes: tuple[int, ...], rules: ShiftRules) -> None:
    rules.check()
    if not _HHMM.match(start) or not _HHMM.match(end) or start == end:
        raise InputError(f"Shift times {start!r}-{end!r} are not two different HH:MM.", "Use e.g. 09:00 and 18:00.")
    if not days or any(d not in range(1, 8) for d in days):
        raise InputError(f"Shift days {days} are not ISO weekdays.", "Use 1 (Monday) .. 7 (Sunday).")
    for value in minutes:
        if not 0 <= value <= 720:
            raise InputError(f"{value} minutes is out of range.", "Use 0 to 720 minutes.")


def update_shift(
    store: HRStore,
    shift_id: int,
    *,
    name: str,
    start: str,
    end: str,
    days: list[int],
    grace_in_minutes: int = 0,
    grace_out_minutes: int = 0,
    overtime_after_minutes: int = 0,
    actor: str,
    rules: ShiftRules,
) -> None:
    """Every setting of a shift at once (as the API's create takes them); audited with the old values.
    Timesheets use the new rules for every day, past ones included: they are computed, never stored."""
    _check_shift(start, end, days, (grace_in_minutes, grace_out_minutes, overtime_after_minutes), rules)
    sets = ", ".join(f"{c} = ?" for c in RULE_COLUMNS)
    with store.db.transaction() as tx:
        before = [r for r in shift_rules.read_shifts(tx) if r["id"] == shift_id]
        if not before:
            raise NotFound(f"There is no shift {shift_id}.", "Give a shift id from /api/shifts.")
        if tx.execute("SELECT 1 FROM shifts WHERE name = ? AND id <> ?", (name, shift_id)).one() is not None:
            raise InputError(f"A shift named {name!r} exists.", "Choose another name.", code="conflict")
        tx.execute(
            "UPDATE shifts SET name = ?, start_time = ?, end_time = ?, grace_in_minutes = ?,"  # noqa: S608 - fixed column names
            " grace_out_minutes = ?, overtime_after_minutes = ?, days = ?, " + sets + " WHERE id = ?",
            (name, start, end, grace_in_minutes, grace_out_minutes, overtime_after_minutes,
             ",".join(str(d) for d in sorted(set(days))), *rules.values(), shift_id),
        )
        detail = {"name": name, "before": before[0]}
        audit.record(tx, store.now_iso(), actor, "shift.update", f"shift:{shift_id}", detail)


def shifts(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return shift_rules.read_shifts(tx)


def assign_shift(
    store: HRStore, employee_no: str, shift_id: int, valid_from: date, actor: str, valid_to: date | None = None
) -> None:
    """From ``valid_from`` on: without ``valid_to`` the employee's default shift (until a later one);
    with it, a shift for those days only (besides or over the default; see ``attendance_plan``)."""
    if valid_to is not None and valid_to < valid_from:
        raise InputError(f"The assignment ends ({valid_to}) before it starts ({valid_from}).", "Give to >= from.")
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM employees WHERE employee_no = ?", (employee_no,)).one() is None:
            raise NotFound(f"There is no employee {employee_no}.", "Check the employee number.")
        if tx.execute("SELECT 1 FROM shifts WHERE id = ?", (shift_id,)).one() is None:
            raise NotFound(f"There is no shift {shift_id}.", "Create the shift first.")
        tx.execute(
            "INSERT INTO employee_shifts (employee_no, shift_id, valid_from, valid_to) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (employee_no, valid_from) DO UPDATE SET shift_id = excluded.shift_id,"
            " valid_to = excluded.valid_to",
            (employee_no, shift_id, valid_from.isoformat(), valid_to.isoformat() if valid_to else None),
        )
        audit.record(
            tx,
            store.now_iso(),
            actor,
            "shift.assign",
            f"employee:{employee_no}",
            {"shift_id": shift_id, "valid_from": valid_from.isoformat(),
             "valid_to": valid_to.isoformat() if valid_to else None},
        )


def all_assignments(store: HRStore) -> list[dict[str, Any]]:
    """Every employee's assignments, by employee and start (the rules page lists them)."""
    with store.db.read() as tx:
        return tx.execute(
            "SELECT a.employee_no, a.shift_id, s.name AS shift, a.valid_from, a.valid_to FROM employee_shifts a"
            " JOIN shifts s ON s.id = a.shift_id ORDER BY a.employee_no, a.valid_from"
        ).dicts()


def assignments(store: HRStore, employee_no: str) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return tx.execute(
            "SELECT a.shift_id, s.name AS shift, a.valid_from, a.valid_to FROM employee_shifts a"
            " JOIN shifts s ON s.id = a.shift_id WHERE a.employee_no = ? ORDER BY a.valid_from",
            (employee_no,),
        ).dicts()


# --- timesheets ----------------------------------------------------------------------------


def load_timesheets(store: HRStore, first: date, last: date, employee_no: str | None = None) -> list[timesheets.DayRow]:
    """Timesheet rows for every (non-erased, or punching) employee and day in [first, last]."""
    return timesheet_reader.load(store, first, last, employee_no).rows
