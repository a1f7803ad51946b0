"""Employees' consent to face attendance as HR knows it: given (recorded at HR) and withdrawn (at a device).

One row per event in ``consent_events``, never updated, so the history is the record. The employee's
status is the newest row that is not *superseded*: "given", "withdrawn", or "none" when there is no row.
While the status is "withdrawn" the server keeps no face templates of the employee and sends none to any
device (``withdrawn_among`` is what the gallery builder asks); HR ends it by recording new consent.

A withdrawal can reach HR late (a terminal offline for days). It is superseded, kept as history but
without effect, only when it provably happened before the consent HR recorded since: the device's clock
was synchronised and its time is earlier. An unsynced clock proves nothing, so such a withdrawal counts:
when in doubt, the employee's "no" wins and HR records the consent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.protocol.bodies import CONSENT_WITHDRAWN
from sync.server.store import audit, downlinks
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

#: The one purpose HR records consent for here (devices use the same string).
PURPOSE = "face-attendance"
#: Why the erase command sent to the other devices on a withdrawal was sent (the device audits it).
WITHDRAWN_REASON = CONSENT_WITHDRAWN


class ConsentWithdrawn(InputError):
    """The employee's consent is withdrawn at HR: no face data may be enrolled or sent until it is recorded."""

    code = "consent-withdrawn"


@dataclass(frozen=True)
class Withdrawal:
    """What HR did with a device's withdrawal report: ``applied`` (the status is now withdrawn) or not
    (``superseded`` by newer consent at HR); ``erase_sent_to`` lists the other devices told to delete."""

    applied: bool
    superseded: bool
    templates_deleted: int
    erase_sent_to: list[str]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()  # as HRStore.now_iso writes times


def _current(tx: Tx, employee_no: str) -> dict[str, Any] | None:
    rows = tx.execute(
        "SELECT id, action, text_version, actor, at, at_ms, device_id FROM consent_events"
        " WHERE employee_no = ? AND superseded = 0 ORDER BY id DESC LIMIT 1",
        (employee_no,),
    ).dicts()
    return rows[0] if rows else None


def status_in(tx: Tx, employee_no: str) -> dict[str, Any]:
    """The employee's consent status as the API shows it (inside the caller's read or transaction)."""
    row = _current(tx, employee_no)
    if row is None:
        return {"status": "none"}
    out: dict[str, Any] = {"status": row["action"], "text_version": row["text_version"]}
    if row["action"] == "given":
        out |= {"recorded_at": row["at"], "recorded_by": row["actor"]}
    else:
        out |= {"withdrawn_at": row["at"], "withdrawn_by": row["actor"], "withdrawn_on_device": row["device_id"]}
    return out


def statuses_in(tx: Tx) -> dict[str, dict[str, Any]]:
    """Every employee with a consent row -> status (one query; others are "none")."""
    rows = tx.execute(
        "SELECT c.employee_no, c.action, c.text_version, c.actor, c.at, c.device_id FROM consent_events c"
        " WHERE c.id = (SELECT max(id) FROM consent_events d WHERE d.employee_no = c.employee_no"
        " AND d.superseded = 0)"
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for no, action, version, actor, at, device_id in rows:
        if action == "given":
            out[str(no)] = {"status": "given", "text_version": version, "recorded_at": at, "recorded_by": actor}
        else:
            out[str(no)] = {"status": "withdrawn", "text_version": version, "withdrawn_at": at,
                            "withdrawn_by": actor, "withdrawn_on_device": device_id}
    return out


def withdrawn_among(tx: Tx, employee_nos: Sequence[str]) -> set[str]:
    """Those of ``employee_nos`` whose consent is withdrawn: no template of theirs may leave the server."""
    return {no for no in dict.fromkeys(employee_nos) if (row := _current(tx, no)) and row["action"] == "withdrawn"}


def history(store: HRStore, employee_no: str) -> list[dict[str, Any]]:
    """Every consent event of the employee, newest first."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT action, text_version, actor, at, device_id, seq, clock_synced, superseded FROM consent_events"
            " WHERE employee_no = ? ORDER BY id DESC",
            (employee_no,),
        ).dicts()
    for row in rows:
        row["superseded"] = bool(row["superseded"])
        if row["clock_synced"] is not None:
            row["clock_synced"] = bool(row["clock_synced"])
    return rows


def _check_version(text_version: str) -> str:
    version = text_version.strip()
    if not version or len(version) > 64:
        raise InputError(
            "The consent text version is missing or longer than 64 characters.",
            "Give the version of the consent text the employee signed (1-64 characters).",
            code="no-consent",
        )
    return version


def record_given(store: HRStore, employee_no: str, text_version: str, actor: str) -> dict[str, Any]:
    """HR records the employee's (new) consent: who recorded it, when, and the text version signed.
    Returns the new status. Refused for an unknown or erased employee."""
    version = _check_version(text_version)
    with store.db.transaction() as tx:
        row = tx.execute("SELECT erased_at FROM employees WHERE employee_no = ?", (employee_no,)).one()
        if row is None:
            raise InputError(f"There is no employee {employee_no}.", "Check the employee number.", code="not-found")
        if row[0] is not None:
            raise InputError(
                f"Employee {employee_no} was erased at {row[0]}; no consent can be recorded for them.",
                "An erased employee stays erased; create a new employee number.",
                code="conflict",
            )
        given_in(tx, store.now(), employee_no, version, actor)
        return status_in(tx, employee_no)


def given_in(tx: Tx, at: datetime, employee_no: str, text_version: str, actor: str) -> None:
    """Append a "given" row (and its audit entry) inside the caller's transaction."""
    tx.execute(
        "INSERT INTO consent_events (employee_no, action, text_version, actor, at, at_ms)"
        " VALUES (?, 'given', ?, ?, ?, ?)",
        (employee_no, text_version, actor, _iso(at), _ms(at)),
    )
    audit.record(tx, _iso(at), actor, "consent.record", f"employee:{employee_no}",
                 {"purpose": PURPOSE, "text_version": text_version})


def require_not_withdrawn(tx: Tx, employee_no: str) -> dict[str, Any] | None:
    """The current consent row, or ConsentWithdrawn when the employee withdrew it."""
    row = _current(tx, employee_no)
    if row is not None and row["action"] == "withdrawn":
        raise ConsentWithdrawn(
            f"Employee {employee_no} withdrew their consent to face attendance (reported by device"
            f" {row['device_id']} at {row['at']}); no face data is enrolled or sent.",
            f"If the employee consents again, record it first: POST /api/employees/{employee_no}/consent.",
        )
    return row


def withdrawn_on_device(
    tx: Tx,
    now: datetime,
    *,
    employee_no: str,
    device_id: str,
    seq: int,
    text_version: str,
    admin: str,
    device_time_ms: int,
    clock_synced: bool,
) -> Withdrawal:
    """A device reports the employee withdrew consent (record ``seq``), inside the ingest transaction.

    Appends the withdrawal; unless it is superseded (see the module notes), deletes HR's templates of the
    employee and, if the status was not withdrawn already, queues an "erase" (reason "consent-withdrawn")
    for every other active device: the person may be enrolled on them too. Idempotent: a record already
    applied (same device and seq) changes nothing.
    """
    current = _current(tx, employee_no)
    superseded = (
        clock_synced
        and current is not None
        and current["action"] == "given"
        and current["device_id"] is None
        and device_time_ms < int(current["at_ms"])
    )
    inserted = tx.execute(
        "INSERT INTO consent_events (employee_no, action, text_version, actor, at, at_ms, device_id, seq,"
        " clock_synced, superseded) VALUES (?, 'withdrawn', ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        (employee_no, text_version, f"device:{device_id}:{admin}", _iso(now), device_time_ms, device_id, seq,
         int(clock_synced), int(superseded)),
    ).one()
    if inserted is None or superseded:
        return Withdrawal(False, bool(superseded and inserted), 0, [])
    deleted = int(tx.execute("DELETE FROM face_templates WHERE employee_no = ?", (employee_no,)).rowcount)
    sent: list[str] = []
    if current is None or current["action"] != "withdrawn":
        others = tx.execute(
            "SELECT id FROM devices WHERE status = 'active' AND id <> ? ORDER BY id", (device_id,)
        ).all()
        for (other,) in others:
            downlinks.emit(tx, str(other), "erase", {"employee_no": employee_no, "reason": WITHDRAWN_REASON},
                           _iso(now))
            sent.append(str(other))
    audit.record(tx, _iso(now), f"device:{device_id}", "consent.withdrawn", f"employee:{employee_no}",
                 {"purpose": PURPOSE, "text_version": text_version, "seq": seq, "templates_deleted": deleted,
                  "erase_sent_to": sent})
    return Withdrawal(True, False, deleted, sent)
