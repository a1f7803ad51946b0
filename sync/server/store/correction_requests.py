"""Employees' correction requests: filed by the employee (a missed punch to add, a wrong one to void or
change, with a reason), decided by HR. Accepting one makes the correction through the one corrections
path (``attendance.add_correction``: audited, sent to webhooks) in the same transaction that marks the
request accepted, so a request is never accepted without its correction nor corrected twice."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from core.errors import InputError
from sync.server import timesheets
from sync.server.store import attendance, audit
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from sync.server.store.database import Tx
    from sync.server.store.hr_store import HRStore

Status = Literal["pending", "accepted", "rejected"]
STATUSES: tuple[Status, ...] = ("pending", "accepted", "rejected")
MAX_REASON = 500
#: Pending requests one employee may hold at once (a bound on what one account can pile onto HR's list).
MAX_PENDING = 50
_COLUMNS = ("id, employee_no, action, punch_uid, direction, at_ms, reason, requested_by, requested_at, status,"
            " decided_by, decided_at, decision_reason, correction_id")


class Conflict(InputError):
    code = "conflict"


#: What an employee asks for: the same fields as a correction HR makes (``employee_no`` is always the
#: signed-in employee's own), so that accepting a request hands it to ``attendance.add_correction`` as is.
NewRequest = attendance.CorrectionRequest


def _check(new: NewRequest) -> str:
    """The request's own rules (the correction's are checked again when HR accepts); returns the reason."""
    reason = new.reason.strip()
    if not 3 <= len(reason) <= MAX_REASON:
        raise InputError(f"A request needs a reason of 3 to {MAX_REASON} characters.",
                         "Say what happened, e.g. 'forgot to punch out, left at 18:05'.")
    if new.action == "add" and (new.direction is None or new.at is None):
        raise InputError("A missed punch needs its direction and time.", "Give in or out and the date and time.")
    if new.action in ("void", "change") and not new.punch_uid:
        raise InputError("A wrong punch must be named.", "Choose the punch from your list of punches.")
    if new.action == "change" and new.direction is None and new.at is None:
        raise InputError("The change changes nothing.", "Give the right direction or time.")
    if new.at is not None and (new.at.tzinfo is None or not timesheets.in_window(new.at)):
        raise InputError("The time of the punch is not a usable date and time.",
                         "Give the date and time of the missed punch (2000 to 2100).")
    return reason


def file(store: HRStore, new: NewRequest, actor: str) -> dict[str, Any]:
    """Store a pending request (audited). A named punch must be the employee's own."""
    reason = _check(new)
    now = store.now_iso()
    at_ms = int(new.at.timestamp() * 1000) if new.at else None
    with store.db.transaction() as tx:
        if new.punch_uid is not None:
            owner = tx.execute("SELECT employee_no FROM punches WHERE uid = ?", (new.punch_uid,)).scalar()
            if owner != new.employee_no:  # someone else's punch looks exactly like no punch at all
                raise NotFound("You have no such punch.", "Choose the punch from your list of punches.")
        pending = tx.execute("SELECT count(*) FROM correction_requests WHERE employee_no = ? AND status = 'pending'",
                             (new.employee_no,)).scalar()
        if int(pending) >= MAX_PENDING:
            raise Conflict(f"You have {pending} requests waiting for HR already.",
                           "Wait until HR has decided some of them.")
        new_id = int(tx.execute(
            "INSERT INTO correction_requests (employee_no, action, punch_uid, direction, at_ms, reason, requested_by,"
            " requested_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending') RETURNING id",
            (new.employee_no, new.action, new.punch_uid, new.direction, at_ms, reason,
             actor[:200], now),
        ).scalar())
        audit.record(tx, now, actor, "correction-request.file", f"employee:{new.employee_no}",
                     {"id": new_id, "action": new.action, "punch_uid": new.punch_uid, "reason": reason})
    return get(store, new_id)


def get(store: HRStore, request_id: int) -> dict[str, Any]:
    with store.db.read() as tx:
        rows = tx.execute(f"SELECT {_COLUMNS} FROM correction_requests WHERE id = ?", (request_id,)).dicts()  # noqa: S608
    if not rows:
        raise NotFound(f"There is no correction request {request_id}.", "List them with GET /api/correction-requests.")
    return _shown(rows[0], store)


def listed(store: HRStore, *, employee_no: str | None = None, status: str | None = None,
           limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of requests (newest first) and how many match; with the employee's name."""
    where = " WHERE (CAST(? AS TEXT) IS NULL OR r.employee_no = ?) AND (CAST(? AS TEXT) IS NULL OR r.status = ?)"
    params = [employee_no, employee_no, status, status]
    with store.db.read() as tx:
        total = int(tx.execute("SELECT count(*) FROM correction_requests r" + where, params).scalar())  # noqa: S608
        rows = tx.execute(
            "SELECT r." + _COLUMNS.replace(", ", ", r.") + ", e.name FROM correction_requests r"  # noqa: S608
            " LEFT JOIN employees e ON e.employee_no = r.employee_no" + where
            + " ORDER BY r.id DESC LIMIT ? OFFSET ?", [*params, limit, offset],
        ).dicts()
    return [_shown(row, store) for row in rows], total


def accept(store: HRStore, request_id: int, actor: str) -> dict[str, Any]:
    """Make the requested correction (through ``attendance.add_correction``) and mark the request accepted."""
    now = store.now_iso()
    with store.db.transaction() as tx:
        row = _decide(tx, request_id, "accepted", actor, now, None)
        at = timesheets.from_unix_ms(row["at_ms"]) if row["at_ms"] is not None else None
        fix = attendance.CorrectionRequest(row["employee_no"], row["action"], row["reason"], row["punch_uid"],
                                           row["direction"], at)
        made = attendance.add_correction(store, fix, actor)  # joins this transaction: both or neither
        tx.execute("UPDATE correction_requests SET correction_id = ? WHERE id = ?", (made["id"], request_id))
        audit.record(tx, now, actor, "correction-request.accept", f"employee:{row['employee_no']}",
                     {"id": request_id, "correction_id": made["id"]})
    return get(store, request_id)


def reject(store: HRStore, request_id: int, reason: str, actor: str) -> dict[str, Any]:
    """Refuse the request with a reason the employee reads."""
    reason = reason.strip()
    if not 3 <= len(reason) <= MAX_REASON:
        raise InputError(f"Rejecting needs a reason of 3 to {MAX_REASON} characters.",
                         "Say why, e.g. 'the door log shows no entry at that time'.")
    now = store.now_iso()
    with store.db.transaction() as tx:
        row = _decide(tx, request_id, "rejected", actor, now, reason)
        audit.record(tx, now, actor, "correction-request.reject", f"employee:{row['employee_no']}",
                     {"id": request_id, "reason": reason})
    return get(store, request_id)


def _decide(tx: Tx, request_id: int, status: Status, actor: str, now: str, reason: str | None) -> dict[str, Any]:
    """Claim a pending request for one decision: the conditional UPDATE takes the row (PostgreSQL's row lock,
    SQLite's write lock), so of two HR users deciding at once the second finds it decided."""
    changed = tx.execute(
        "UPDATE correction_requests SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?"
        " WHERE id = ? AND status = 'pending'", (status, actor[:200], now, reason, request_id),
    ).rowcount
    rows = tx.execute(f"SELECT {_COLUMNS} FROM correction_requests WHERE id = ?", (request_id,)).dicts()  # noqa: S608
    if not rows:
        raise NotFound(f"There is no correction request {request_id}.", "List them with GET /api/correction-requests.")
    if not changed:
        raise Conflict(f"Correction request {request_id} was {rows[0]['status']} already.", "Nothing to do.")
    return dict(rows[0])


def _shown(row: dict[str, Any], store: HRStore) -> dict[str, Any]:
    """A row as the API shows it: times in the server's zone (the punch's instead of epoch milliseconds)."""
    at_ms = row.pop("at_ms")
    at = timesheets.from_unix_ms(at_ms) if at_ms is not None else None
    local = {key: datetime.fromisoformat(row[key]).astimezone(store.tz).isoformat()
             for key in ("requested_at", "decided_at") if row.get(key)}
    return row | local | {"at": at.astimezone(store.tz).isoformat() if at else None}
