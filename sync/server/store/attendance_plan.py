"""Holiday calendars (dated holidays for a group of employees, one calendar the default for everyone
else) and HR's manual attendance and leave records (audited); and the per-employee ``Plan`` the
timesheets are computed from (assignments, default shifts, holidays, manual records)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.server.shift_model import MANUAL_STATUSES, Assignment, Manual, Plan, Shift
from sync.server.store import audit
from sync.server.store.database import Tx
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore


def _employee(tx: Tx, employee_no: str) -> None:
    if tx.execute("SELECT 1 FROM employees WHERE employee_no = ?", (employee_no,)).one() is None:
        raise NotFound(f"There is no employee {employee_no}.", "Check the employee number.")


def create_calendar(store: HRStore, name: str, is_default: bool, actor: str) -> int:
    name = name.strip()
    if not name:
        raise InputError("A holiday calendar needs a name.", "Name it, e.g. 'Shanghai site 2026'.")
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM holiday_calendars WHERE name = ?", (name,)).one() is not None:
            raise InputError(f"A calendar named {name!r} exists.", "Choose another name.", code="conflict")
        if is_default:
            tx.execute("UPDATE holiday_calendars SET is_default = 0")
        new_id = tx.execute(
            "INSERT INTO holiday_calendars (name, is_default) VALUES (?, ?) RETURNING id", (name, int(is_default))
        ).scalar()
        audit.record(tx, store.now_iso(), actor, "calendar.create", f"calendar:{new_id}", {"name": name})
    return int(new_id)


def set_holiday(store: HRStore, calendar_id: int, day: date, name: str, actor: str, remove: bool = False) -> None:
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM holiday_calendars WHERE id = ?", (calendar_id,)).one() is None:
            raise NotFound(f"There is no holiday calendar {calendar_id}.", "Create it first.")
        tx.execute("DELETE FROM holidays WHERE calendar_id = ? AND day = ?", (calendar_id, day.isoformat()))
        if not remove:
            tx.execute("INSERT INTO holidays (calendar_id, day, name) VALUES (?, ?, ?)",
                       (calendar_id, day.isoformat(), name.strip()[:200]))
        action = "calendar.holiday.remove" if remove else "calendar.holiday.set"
        audit.record(tx, store.now_iso(), actor, action, f"calendar:{calendar_id}", {"day": day.isoformat()})


def set_employee_calendar(store: HRStore, employee_no: str, calendar_id: int | None, actor: str) -> None:
    """The employee's holiday calendar (None: the default calendar)."""
    with store.db.transaction() as tx:
        _employee(tx, employee_no)
        tx.execute("DELETE FROM employee_calendars WHERE employee_no = ?", (employee_no,))
        if calendar_id is not None:
            if tx.execute("SELECT 1 FROM holiday_calendars WHERE id = ?", (calendar_id,)).one() is None:
                raise NotFound(f"There is no holiday calendar {calendar_id}.", "Create it first.")
            tx.execute("INSERT INTO employee_calendars (employee_no, calendar_id) VALUES (?, ?)",
                       (employee_no, calendar_id))
        audit.record(tx, store.now_iso(), actor, "calendar.assign", f"employee:{employee_no}",
                     {"calendar_id": calendar_id})


def set_site_calendar(store: HRStore, site: str, calendar_id: int | None, actor: str) -> None:
    """The holiday calendar of everyone assigned to the devices of ``site`` who has no calendar of their own
    (None: the default calendar)."""
    site = site.strip()
    if not site or len(site) > 120:
        raise InputError("A site needs a name of 1 to 120 characters.", "Give the site as the devices list shows it.")
    with store.db.transaction() as tx:
        tx.execute("DELETE FROM site_calendars WHERE site = ?", (site,))
        if calendar_id is not None:
            if tx.execute("SELECT 1 FROM holiday_calendars WHERE id = ?", (calendar_id,)).one() is None:
                raise NotFound(f"There is no holiday calendar {calendar_id}.", "Create it first.")
            tx.execute("INSERT INTO site_calendars (site, calendar_id) VALUES (?, ?)", (site, calendar_id))
        audit.record(tx, store.now_iso(), actor, "calendar.site", f"site:{site}", {"calendar_id": calendar_id})


def sites(store: HRStore) -> list[str]:
    """The sites devices are registered at (where a site calendar can apply)."""
    with store.db.read() as tx:
        return [r[0] for r in tx.execute("SELECT DISTINCT site FROM devices WHERE site <> '' ORDER BY site").all()]


def calendars(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        rows = tx.execute("SELECT id, name, is_default FROM holiday_calendars ORDER BY id").dicts()
        days = tx.execute("SELECT calendar_id, day, name FROM holidays ORDER BY day").all()
        members = tx.execute("SELECT calendar_id, employee_no FROM employee_calendars ORDER BY employee_no").all()
        site_rows = tx.execute("SELECT calendar_id, site FROM site_calendars ORDER BY site").all()
    for row in rows:
        row["is_default"] = bool(row["is_default"])
        row["holidays"] = [{"day": d, "name": n} for c, d, n in days if c == row["id"]]
        row["employees"] = [e for c, e in members if c == row["id"]]
        row["sites"] = [s for c, s in site_rows if c == row["id"]]
    return rows


def add_manual(
    store: HRStore, *, employee_no: str, day: date, status: str, reason: str, actor: str, shift_id: int | None = None
) -> dict[str, Any]:
    """HR's record for a day (leave, or attendance by hand): it takes precedence over punches. Audited."""
    reason = reason.strip()
    if status not in MANUAL_STATUSES:
        raise InputError(f"Unknown attendance status {status!r}.", f"Choose from: {', '.join(MANUAL_STATUSES)}.")
    if len(reason) < 3:
        raise InputError("A manual attendance record needs a reason.", "Say why, e.g. 'annual leave approved'.")
    now = store.now_iso()
    with store.db.transaction() as tx:
        _employee(tx, employee_no)
        if shift_id is not None and tx.execute("SELECT 1 FROM shifts WHERE id = ?", (shift_id,)).one() is None:
            raise NotFound(f"There is no shift {shift_id}.", "Give a shift id from /api/shifts, or none.")
        new_id = tx.execute(
            "INSERT INTO attendance_manual (employee_no, day, status, shift_id, reason, actor, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (employee_no, day.isoformat(), status, shift_id, reason, actor, now),
        ).scalar()
        detail = {"id": int(new_id), "day": day.isoformat(), "status": status, "shift_id": shift_id, "reason": reason}
        audit.record(tx, now, actor, "attendance.manual", f"employee:{employee_no}", detail)
    return {"employee_no": employee_no, **detail, "actor": actor, "created_at": now}


def manual_records(store: HRStore, employee_no: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT id, employee_no, day, status, shift_id, reason, actor, created_at FROM attendance_manual"
    with store.db.read() as tx:
        if employee_no:
            return tx.execute(sql + " WHERE employee_no = ? ORDER BY id", (employee_no,)).dicts()
        return tx.execute(sql + " ORDER BY id").dicts()


def plans(tx: Tx, shifts: dict[int, Shift], first: date, last: date) -> dict[str, Plan]:
    """Every employee's plan (assignments, defaults, holidays of their calendar, manual records)."""
    bounded: dict[str, list[Assignment]] = {}
    defaults: dict[str, list[tuple[date, Shift]]] = {}
    for no, shift_id, valid_from, valid_to in tx.execute(
        "SELECT employee_no, shift_id, valid_from, valid_to FROM employee_shifts ORDER BY valid_from"
    ).all():
        shift = shifts.get(int(shift_id))
        if shift is None:
            continue
        if valid_to is None:  # open-ended: the default shift from that day on, until a later one
            defaults.setdefault(no, []).append((date.fromisoformat(valid_from), shift))
        else:
            bounded.setdefault(no, []).append(
                Assignment(shift, date.fromisoformat(valid_from), date.fromisoformat(valid_to)))
    calendar_days: dict[int, set[date]] = {}
    for cal, day in tx.execute("SELECT calendar_id, day FROM holidays").all():
        calendar_days.setdefault(int(cal), set()).add(date.fromisoformat(day))
    default_cal = tx.execute("SELECT id FROM holiday_calendars WHERE is_default = 1").scalar()
    member = {no: int(cal) for no, cal in tx.execute("SELECT employee_no, calendar_id FROM employee_calendars").all()}
    by_site: dict[str, set[int]] = {}  # employee -> the calendars of the sites of the devices assigned them
    for no, cal in tx.execute(
        "SELECT DISTINCT a.employee_no, c.calendar_id FROM device_assignments a JOIN devices d ON d.id = a.device_id"
        " JOIN site_calendars c ON c.site = d.site"
    ).all():
        by_site.setdefault(no, set()).add(int(cal))
    names = {sid: s.name for sid, s in shifts.items()}
    manual: dict[str, list[Manual]] = {}
    for no, day, status, shift_id in tx.execute(
        "SELECT employee_no, day, status, shift_id FROM attendance_manual WHERE day >= ? AND day <= ? ORDER BY id",
        (first.isoformat(), last.isoformat()),
    ).all():
        manual.setdefault(no, []).append(
            Manual(date.fromisoformat(day), status, names.get(int(shift_id)) if shift_id is not None else None))
    people = set(bounded) | set(defaults) | set(member) | set(manual) | set(by_site)
    if default_cal is not None:
        people |= {r[0] for r in tx.execute("SELECT employee_no FROM employees").all()}

    def holidays_of(no: str) -> frozenset[date]:
        """Their own calendar, else their sites' (all of them: someone at two sites has both's holidays),
        else the default."""
        chosen = {member[no]} if no in member else by_site.get(no) or {int(default_cal or 0)}
        return frozenset(d for cal in chosen for d in calendar_days.get(cal, set()))

    return {
        no: Plan(tuple(bounded.get(no, [])), tuple(defaults.get(no, [])), holidays_of(no), tuple(manual.get(no, [])))
        for no in people
    }
