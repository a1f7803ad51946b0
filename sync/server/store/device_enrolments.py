"""Who is enrolled on which device, from the devices' own "enrolment" records (never a template).

Every record is kept in ``enrolment_events`` (who, when, how many templates, model, consent version),
exactly once per (device, seq). ``device_enrolments`` holds the latest state per (employee, device):
"enrolled", "removed" (an admin deleted the templates), "withdrawn" (the employee withdrew consent: a
"removed" record carrying the withdrawn consent's version) or "erased" (HR erased the employee and sent
every device an erase). Records of one device can arrive out of order (retries, several ingest workers):
the state follows the highest sequence, the events keep them all. A withdrawal also goes to
``consents.withdrawn_on_device``, which stops every gallery from carrying the person's templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync.protocol.records import EnrolmentBody
from sync.server.store import consents
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

def enrolment_row(
    device_id: str, seq: int, body: EnrolmentBody, device_time_ms: int, clock_synced: bool, received_at: str
) -> dict[str, Any]:
    """The ``enrolment_events`` row of a device's enrolment record (the protocol validated the body)."""
    count = body.template_count
    if body.templates and count is None:
        count = len(body.templates)  # a sender that ships templates: only their number is kept here
    return {
        "device_id": device_id,
        "seq": seq,
        "employee_no": body.employee_no,
        "event": body.event,
        "withdrawal": int(body.event == "removed" and body.consent_ref is not None),
        "admin": body.admin,
        "consent_ref": body.consent_ref,
        "model": body.model,
        "template_count": count,
        "device_time_ms": int(device_time_ms),
        "clock_synced": int(bool(clock_synced)),
        "received_at": received_at,
    }


def apply(tx: Tx, now: datetime, row: Mapping[str, Any]) -> consents.Withdrawal | None:
    """Store one enrolment record's row and apply it, inside the ingest transaction; a (device, seq) seen
    before changes nothing. Returns what a withdrawal did (None for other events)."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    inserted = tx.execute(
        f"INSERT INTO enrolment_events ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING seq",  # noqa: S608 - fixed columns
        tuple(row.values()),
    ).one()
    if inserted is None:
        return None
    state = "withdrawn" if row["withdrawal"] else "removed" if row["event"] == "removed" else "enrolled"
    tx.execute(
        "INSERT INTO device_enrolments (employee_no, device_id, state, template_count, model, consent_ref, seq,"
        " device_time_ms, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (employee_no, device_id) DO UPDATE SET state = excluded.state,"
        " template_count = excluded.template_count, model = excluded.model, consent_ref = excluded.consent_ref,"
        " seq = excluded.seq, device_time_ms = excluded.device_time_ms, updated_at = excluded.updated_at"
        " WHERE device_enrolments.seq < excluded.seq",
        (
            row["employee_no"],
            row["device_id"],
            state,
            0 if row["event"] == "removed" else row["template_count"],
            row["model"],
            row["consent_ref"],
            row["seq"],
            row["device_time_ms"],
            now.astimezone(UTC).isoformat(),
        ),
    )
    if not row["withdrawal"]:
        return None
    return consents.withdrawn_on_device(
        tx,
        now,
        employee_no=str(row["employee_no"]),
        device_id=str(row["device_id"]),
        seq=int(row["seq"]),
        text_version=str(row["consent_ref"]),
        admin=str(row["admin"]),
        device_time_ms=int(row["device_time_ms"]),
        clock_synced=bool(row["clock_synced"]),
    )


def mark_erased(tx: Tx, employee_no: str, at: str) -> int:
    """HR erased the employee and sent every device an erase: their per-device state says so."""
    return int(
        tx.execute(
            "UPDATE device_enrolments SET state = 'erased', template_count = 0, updated_at = ? WHERE employee_no = ?",
            (at, employee_no),
        ).rowcount
    )


def of_employee(store: HRStore, employee_no: str) -> dict[str, Any]:
    """What HR knows of the employee's enrolments: consent status and history, each device's latest state,
    and every event the devices reported (newest first). No template, no photo."""
    with store.db.read() as tx:
        status = consents.status_in(tx, employee_no)
        on_devices = tx.execute(
            "SELECT device_id, state, template_count, model, consent_ref, seq, device_time_ms, updated_at"
            " FROM device_enrolments WHERE employee_no = ? ORDER BY device_id",
            (employee_no,),
        ).dicts()
        events = tx.execute(
            "SELECT device_id, seq, event, withdrawal, admin, consent_ref, model, template_count, device_time_ms,"
            " clock_synced, received_at FROM enrolment_events WHERE employee_no = ?"
            " ORDER BY device_time_ms DESC, device_id, seq DESC",
            (employee_no,),
        ).dicts()
    for event in events:
        event["withdrawal"] = bool(event["withdrawal"])
        event["clock_synced"] = bool(event["clock_synced"])
    return {
        "employee_no": employee_no,
        "consent": status,
        "consent_history": consents.history(store, employee_no),
        "devices": on_devices,
        "events": events,
    }
