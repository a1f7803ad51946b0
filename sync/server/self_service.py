"""What an employee reads of themselves: their punches, their hours per day with the period's totals, their
correction requests. Every function takes the employee number from the signed-in principal (the account's
link), never from the request, so nothing here can be pointed at another person.

Hours are HR's own: the rows come from ``timesheet_reader.load`` (``sync.server.timesheets.compute``, the
function behind /api/timesheets and the payroll CSV); the totals only add those rows up.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.server import auth, timesheets
from sync.server.store import correction_requests, timesheet_reader

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

#: The longest period one view computes (about a quarter), like the HR timesheets page.
MAX_DAYS = 93


def own_number(who: auth.Principal) -> str:
    """The employee number a self-service principal may read (an AuthError for any other caller)."""
    if who.role != "employee" or not who.employee_no:
        raise auth.AuthError("Only an employee's own account reads self-service data.",
                             "Sign in with your employee account.", code="forbidden", status=403)
    return who.employee_no


def default_period(store: HRStore) -> tuple[date, date]:
    """The current month up to today, in the server's time zone."""
    today = store.now().astimezone(store.tz).date()
    return today.replace(day=1), today


def check_period(first: date, last: date) -> None:
    if last < first or (last - first).days >= MAX_DAYS:
        raise InputError(f"The period {first}..{last} is empty or longer than {MAX_DAYS} days.",
                         f"Choose from <= to, at most {MAX_DAYS} days apart.", code="bad-range")


def hours(store: HRStore, who: auth.Principal, first: date, last: date) -> dict[str, Any]:
    """Per-day rows of HR's timesheet for the employee and the period's totals."""
    employee_no = own_number(who)
    check_period(first, last)
    report = timesheet_reader.load(store, first, last, employee_no)
    rows = [r for r in report.rows if r.employee_no == employee_no]
    final = [r for r in rows if r.finalised]
    totals = {
        "worked_minutes": sum(r.worked_minutes for r in rows),
        "worked_hours": round(sum(r.worked_minutes for r in rows) / 60, 2),
        "late_days": sum(1 for r in rows if r.late_minutes > 0),
        "late_minutes": sum(r.late_minutes for r in rows),
        "early_leave_minutes": sum(r.early_leave_minutes for r in rows),
        "overtime_minutes": sum(r.overtime_minutes for r in rows),
        "absent_days": sum(1 for r in final if r.status == "absent"),
        "days_worked": sum(1 for r in rows if r.worked_minutes > 0),
    }
    unattached = [p.at.astimezone(store.tz).isoformat() for p in report.unattached.get(employee_no, [])]
    return {"employee_no": employee_no, "from": first.isoformat(), "to": last.isoformat(),
            "timezone": str(store.tz), "rows": [timesheets.row_json(r, store.tz) for r in rows],
            "totals": totals, "unattached": unattached}


def punches(store: HRStore, who: auth.Principal, first: date, last: date) -> list[dict[str, Any]]:
    """The employee's stored punches in [first, last] (server's zone), oldest first."""
    employee_no = own_number(who)
    check_period(first, last)
    lo = int(datetime.combine(first, time(0), store.tz).timestamp() * 1000)
    hi = int(datetime.combine(last + timedelta(days=1), time(0), store.tz).timestamp() * 1000)
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT uid, direction, device_time_ms, device_id, clock_synced FROM punches"
            " WHERE employee_no = ? AND device_time_ms >= ? AND device_time_ms < ? ORDER BY device_time_ms, uid",
            (employee_no, lo, hi),
        ).all()
    return [{"uid": uid, "direction": direction,
             "at": datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(store.tz).isoformat(),
             "device_id": device_id, "clock_synced": bool(synced)}
            for uid, direction, at_ms, device_id, synced in rows]


def requests(store: HRStore, who: auth.Principal, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The employee's own correction requests, newest first (without who decided: HR's names stay HR's)."""
    rows, total = correction_requests.listed(store, employee_no=own_number(who), limit=limit, offset=offset)
    return [{k: v for k, v in row.items() if k not in ("decided_by", "requested_by", "name")} for row in rows], total


def file_request(store: HRStore, who: auth.Principal, new: correction_requests.NewRequest) -> dict[str, Any]:
    """File a request for the signed-in employee (``new.employee_no`` must be theirs)."""
    if new.employee_no != own_number(who):
        raise auth.AuthError("A request can only be about your own punches.", "Sign in as that employee.",
                             code="forbidden", status=403)
    row = correction_requests.file(store, new, who.actor)
    return {k: v for k, v in row.items() if k not in ("decided_by", "requested_by", "name")}
