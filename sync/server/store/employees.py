"""Employees on the server: create, list, and erase (which reaches every device through downlinks)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.server.store import audit, consents, device_enrolments, downlinks, webhook_rows

if TYPE_CHECKING:
    from sync.server.store.database import Tx
    from sync.server.store.hr_store import HRStore

# The same identifier shape the sync protocol accepts for employee ids.
EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class NotFound(InputError):
    code = "not-found"


def create(store: HRStore, employee_no: str, name: str, actor: str) -> dict[str, Any]:
    if not EMPLOYEE_NO.match(employee_no):
        raise InputError(
            f"Employee number {employee_no!r} is not 1-64 letters, digits or . _ : -",
            "Use the payroll number without spaces.",
            code="bad-employee-no",
        )
    name = name.strip()
    if not name or len(name) > 120:
        raise InputError("The employee's name is empty or longer than 120 characters.", "Give the name as HR uses it.")
    with store.db.transaction() as tx:
        existing = tx.execute("SELECT erased_at FROM employees WHERE employee_no = ?", (employee_no,)).one()
        if existing is not None:
            raise InputError(
                f"Employee {employee_no} already exists{' (erased)' if existing[0] else ''}.",
                "Use another employee number; an erased number is never reused, so old records stay unambiguous.",
                code="conflict",
            )
        tx.execute(
            "INSERT INTO employees (employee_no, name, active, created_at) VALUES (?, ?, 1, ?)",
            (employee_no, name, store.now_iso()),
        )
        audit.record(tx, store.now_iso(), actor, "employee.create", f"employee:{employee_no}", {"name": name})
    return get(store, employee_no)


def get(store: HRStore, employee_no: str) -> dict[str, Any]:
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT employee_no, name, active, created_at, erased_at FROM employees WHERE employee_no = ?",
            (employee_no,),
        ).dicts()
        if not rows:
            raise NotFound(f"There is no employee {employee_no}.", "Check the employee number.")
        devices = [
            r[0]
            for r in tx.execute(
                "SELECT device_id FROM device_assignments WHERE employee_no = ? ORDER BY device_id", (employee_no,)
            ).all()
        ]
        consent = consents.status_in(tx, employee_no)
    return _shape(rows[0]) | {"devices": devices, "consent": consent}


def list_all(store: HRStore, include_erased: bool = False) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        sql = "SELECT employee_no, name, active, created_at, erased_at FROM employees"
        if not include_erased:
            sql += " WHERE erased_at IS NULL"
        rows = tx.execute(sql + " ORDER BY employee_no").dicts()
        assigned: dict[str, list[str]] = {}
        for device_id, employee_no in tx.execute(
            "SELECT device_id, employee_no FROM device_assignments ORDER BY device_id"
        ).all():
            assigned.setdefault(employee_no, []).append(device_id)
        consent = consents.statuses_in(tx)
    return [
        _shape(r) | {"devices": assigned.get(r["employee_no"], []),
                     "consent": consent.get(r["employee_no"], {"status": "none"})}
        for r in rows
    ]


def names(store: HRStore) -> dict[str, str]:
    with store.db.read() as tx:
        return {str(no): str(name) for no, name in tx.execute("SELECT employee_no, name FROM employees").all()}


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"active": bool(row["active"])}


def erase(store: HRStore, employee_no: str, actor: str) -> list[str]:
    """Mark erased, drop assignments, and queue an "erase" command for every registered, active device.

    Every device gets it, not only assigned ones: a person may have been enrolled at a terminal's panel
    without an assignment from here. Punches stay (payroll and audit need them); face data goes.
    Returns the ids of the devices an erase command was queued for.
    """
    now = store.now_iso()
    with store.db.transaction() as tx:
        row = tx.execute("SELECT erased_at FROM employees WHERE employee_no = ?", (employee_no,)).one()
        if row is None:
            raise NotFound(f"There is no employee {employee_no}.", "Check the employee number.")
        if row[0] is not None:
            raise InputError(
                f"Employee {employee_no} was already erased at {row[0]}.", "Nothing to do.", code="conflict"
            )
        tx.execute("UPDATE employees SET active = 0, erased_at = ? WHERE employee_no = ?", (now, employee_no))
        tx.execute("DELETE FROM device_assignments WHERE employee_no = ?", (employee_no,))
        tx.execute("DELETE FROM face_templates WHERE employee_no = ?", (employee_no,))  # face data goes now
        device_enrolments.mark_erased(tx, employee_no, now)  # every device gets the erase below
        _close_accounts(tx, employee_no, now, actor)
        devices = [r[0] for r in tx.execute("SELECT id FROM devices WHERE status = 'active' ORDER BY id").all()]
        queued: list[str] = []
        for device_id in devices:
            downlinks.emit(tx, device_id, "erase", {"employee_no": employee_no, "reason": "erased-by-hr"}, now)
            queued.append(device_id)
        audit.record(tx, now, actor, "employee.erase", f"employee:{employee_no}", {"devices": queued})
        webhook_rows.enqueue_event(tx, "employee.erased", {"employee_no": employee_no}, store.now())
    return queued


def _close_accounts(tx: Tx, employee_no: str, now: str, actor: str) -> None:
    """Disable the erased person's self-service accounts and end their sessions, in the erasure's transaction:
    an account must not outlive the person it reads (the row stays, disabled, for the audit trail)."""
    for (user_id,) in tx.execute(
        "SELECT id FROM hr_users WHERE employee_no = ? AND disabled_at IS NULL ORDER BY id", (employee_no,)
    ).all():
        tx.execute("UPDATE hr_users SET disabled_at = ? WHERE id = ?", (now, user_id))
        tx.execute("DELETE FROM hr_sessions WHERE user_id = ?", (user_id,))
        audit.record(tx, now, actor, "user.disable", f"user:{user_id}", {"reason": "employee-erased"})
