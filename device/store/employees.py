"""Employees, their biometric consent, and their face templates (encrypted with the device data key)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pydantic import ValidationError

from core.datakey import DataKey
from core.errors import InputError
from device.store import audit, outbox
from device.store.database import Store
from device.store.snapshots import delete_rows_of as delete_snapshot_rows
from sync.protocol import EnrolmentBody


@dataclass(frozen=True)
class Template:
    employee_no: str
    vector: np.ndarray
    model: str


def _context(employee_no: str, model: str) -> bytes:
    # Binds each ciphertext to its owner: a template copied onto another employee's row fails to decrypt.
    return f"face-template:{employee_no}:{model}".encode()


def upsert_employee(store: Store, employee_no: str, name: str, at: datetime, actor: str) -> int:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO employees (employee_no, name, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (employee_no) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
            (employee_no, name, at.isoformat(), at.isoformat()),
        )
        audit.record(conn, at=at, actor=actor, action="employee.upsert", subject=employee_no)
        row = conn.execute("SELECT id FROM employees WHERE employee_no = ?", (employee_no,)).fetchone()
    return int(row[0])


#: The consent purpose face templates are kept under (enrolment checks it; HR's store uses the same string).
FACE_PURPOSE = "face-attendance"


def record_consent(
    store: Store,
    employee_no: str,
    *,
    purpose: str,
    text_version: str,
    recorded_by: str,
    at: datetime,
    demo: bool = False,
) -> int:
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO consents (subject_kind, subject_ref, purpose, text_version, recorded_by, recorded_at, demo)"
            " VALUES ('employee', ?, ?, ?, ?, ?, ?)",
            (employee_no, purpose, text_version, recorded_by, at.isoformat(), int(demo)),
        )
        audit.record(
            conn,
            at=at,
            actor=recorded_by,
            action="consent.record",
            subject=employee_no,
            detail={"purpose": purpose, "text_version": text_version, "demo": demo},
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def has_consent(store: Store, employee_no: str, purpose: str) -> bool:
    row = store.conn.execute(
        "SELECT 1 FROM consents WHERE subject_kind = 'employee' AND subject_ref = ? AND purpose = ?"
        " AND withdrawn_at IS NULL",
        (employee_no, purpose),
    ).fetchone()
    return row is not None


def replace_templates(
    store: Store,
    key: DataKey,
    employee_no: str,
    vectors: list[np.ndarray],
    *,
    model: str,
    source: str,
    at: datetime,
    actor: str,
    qualities: list[float] | None = None,
    queue_for_server: bool = False,
    clock_synced: bool = False,
) -> int:
    """Make ``vectors`` the employee's only templates for ``model`` (enrolment and re-enrolment).

    ``queue_for_server``: an enrolment done on this device also queues an "enrolment" record (event
    "enrolled", or "updated" when the employee had templates) in the same transaction. Templates that came
    from the server in a gallery command are not reported back: the server sent them."""
    if not has_consent(store, employee_no, "face-attendance"):
        raise InputError(
            f"Employee {employee_no} has no recorded consent to face attendance.",
            "Record the employee's consent before enrolling their face.",
        )
    with store.transaction() as conn:
        row = conn.execute("SELECT id, name FROM employees WHERE employee_no = ?", (employee_no,)).fetchone()
        if row is None:
            raise InputError(f"Employee {employee_no} does not exist on this device.", "Add the employee first.")
        had = conn.execute("SELECT count(*) FROM face_templates WHERE employee_id = ?", (row[0],)).fetchone()[0]
        conn.execute("DELETE FROM face_templates WHERE employee_id = ? AND model = ?", (row[0], model))
        for i, vector in enumerate(vectors):
            plain = np.asarray(vector, dtype="<f4").tobytes()
            nonce, ciphertext = key.seal(plain, _context(employee_no, model))
            conn.execute(
                "INSERT INTO face_templates (employee_id, model, key_id, nonce, ciphertext, quality, source,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row[0],
                    model,
                    key.key_id,
                    nonce,
                    ciphertext,
                    qualities[i] if qualities else None,
                    source,
                    at.isoformat(),
                ),
            )
        audit.record(
            conn,
            at=at,
            actor=actor,
            action="face.enrol",
            subject=employee_no,
            detail={"templates": len(vectors), "model": model, "source": source},
        )
        if queue_for_server:
            consent = conn.execute(
                "SELECT text_version FROM consents WHERE subject_kind = 'employee' AND subject_ref = ?"
                " AND purpose = 'face-attendance' AND withdrawn_at IS NULL ORDER BY id DESC LIMIT 1",
                (employee_no,),
            ).fetchone()
            queue_enrolment_record(
                conn, "updated" if had else "enrolled", employee_no, actor=actor, at=at, clock_synced=clock_synced,
                name=str(row[1]), consent_ref=str(consent[0]) if consent else None, model=model,
                template_count=len(vectors),
            )
    return len(vectors)


def delete_templates(
    store: Store,
    employee_no: str,
    *,
    at: datetime,
    actor: str,
    reason: str,
    queue_for_server: bool = False,
    clock_synced: bool = False,
) -> int:
    """Delete all the employee's templates. ``queue_for_server``: an admin's deletion on this device also
    queues an "enrolment" record (event "removed", no consent_ref: the consent stands) in the same
    transaction; a deletion the server ordered (erase, gallery removal) is not reported back."""
    with store.transaction() as conn:
        removed = conn.execute(
            "DELETE FROM face_templates WHERE employee_id = (SELECT id FROM employees WHERE employee_no = ?)",
            (employee_no,),
        ).rowcount
        audit.record(
            conn,
            at=at,
            actor=actor,
            action="face.delete",
            subject=employee_no,
            detail={"templates": removed, "reason": reason},
        )
        if queue_for_server and removed:
            queue_enrolment_record(
                conn, "removed", employee_no, actor=actor, at=at, clock_synced=clock_synced, template_count=removed
            )
    return int(removed)


def load_templates(store: Store, key: DataKey, model: str) -> list[Template]:
    """Decrypt every active employee's templates for ``model`` (the gallery is built from these)."""
    rows = store.conn.execute(
        "SELECT e.employee_no, t.nonce, t.ciphertext FROM face_templates t JOIN employees e ON e.id = t.employee_id"
        " WHERE t.model = ? AND e.active = 1 ORDER BY t.id",
        (model,),
    ).fetchall()
    return [
        Template(no, np.frombuffer(key.open(nonce, ct, _context(no, model)), dtype="<f4").copy(), model)
        for no, nonce, ct in rows
    ]


def names(store: Store) -> dict[str, str]:
    return dict(store.conn.execute("SELECT employee_no, name FROM employees"))


def name_of(store: Store, employee_no: str) -> str | None:
    row = store.conn.execute("SELECT name FROM employees WHERE employee_no = ?", (employee_no,)).fetchone()
    return str(row[0]) if row else None


# -- the HR server hears of every enrolment change made on this device ----------------------------------
#: Characters a record's identifiers may hold (the protocol's identifier rule); others become "_".
_NOT_IDENT = re.compile(r"[^A-Za-z0-9._:-]")


def _ident(text: str, default: str) -> str:
    return _NOT_IDENT.sub("_", text)[:64] or default


def queue_enrolment_record(
    conn: sqlite3.Connection,
    event: str,
    employee_no: str,
    *,
    actor: str,
    at: datetime,
    clock_synced: bool,
    name: str | None = None,
    consent_ref: str | None = None,
    model: str | None = None,
    template_count: int | None = None,
    ref: str | None = None,
) -> int:
    """Queue the "enrolment" record of one change inside the caller's transaction (the change and its
    record commit together); returns its outbox sequence. Never templates: who, when, how many, the model
    and the consent text version. ``event``: "enrolled", "updated" or "removed" (with ``consent_ref``: the
    consent was withdrawn)."""
    fields: dict[str, object] = {"event": event, "employee_no": employee_no, "admin": _ident(actor, "device")}
    if name:
        fields["name"] = name[:128]
    if consent_ref is not None:
        fields["consent_ref"] = _ident(consent_ref, "unknown")
    if model is not None:
        fields["model"] = _ident(model, "unknown")
    if template_count is not None:
        fields["template_count"] = template_count
    try:
        body = EnrolmentBody.model_validate(fields, strict=False)
    except ValidationError as exc:
        raise InputError(f"The enrolment record of {employee_no} is invalid: {exc.errors()[0]['msg']}.",
                         "This is a bug in the terminal software: report it with the log line.") from None
    at_ms = int(at.timestamp() * 1000)
    return outbox.enqueue(
        conn, (ref or f"face-{event}-{at_ms}-{employee_no}")[:64], body, created_at_ms=at_ms,
        clock_synced=clock_synced,
    )


# -- consent withdrawal -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Withdrawal:
    """What a consent withdrawal did. ``snapshot_paths`` are the files of the deleted snapshot rows: the
    caller unlinks them once the transaction has committed."""

    employee_no: str
    versions: list[str]  # the consent text versions withdrawn
    templates: int
    snapshot_paths: list[str]
    outbox_seq: int


def open_consent_ids(conn: sqlite3.Connection, employee_no: str, purpose: str) -> list[int]:
    rows = conn.execute(
        "SELECT id FROM consents WHERE subject_kind = 'employee' AND subject_ref = ? AND purpose = ?"
        " AND withdrawn_at IS NULL ORDER BY id",
        (employee_no, purpose),
    ).fetchall()
    return [int(r[0]) for r in rows]


def close_consents(conn: sqlite3.Connection, consent_ids: list[int], *, actor: str, at: datetime) -> None:
    """Mark consents withdrawn (when, by whom); the rows stay as the record of what was signed."""
    conn.executemany(
        "UPDATE consents SET withdrawn_at = ?, withdrawn_by = ? WHERE id = ?",
        [(at.isoformat(), actor, cid) for cid in consent_ids],
    )


def withdraw_consent(
    store: Store, employee_no: str, *, purpose: str, actor: str, at: datetime, clock_synced: bool
) -> Withdrawal:
    """Withdraw the employee's consent to ``purpose`` and delete their face data, in ONE transaction.

    Marks every open consent withdrawn (when, by whom; the rows stay as the record of what was signed),
    deletes all their face templates and punch snapshot rows, audits it, and queues an "enrolment"
    record (event "removed") so the HR server learns of it. Raises InputError ("no-consent") when no
    consent is open: nothing is changed then.
    """
    with store.transaction() as conn:
        employee = conn.execute("SELECT id FROM employees WHERE employee_no = ?", (employee_no,)).fetchone()
        if employee is None:
            raise InputError(f"Employee {employee_no} does not exist on this device.",
                             "Check the employee number.", code="unknown-employee")
        open_rows = conn.execute(
            "SELECT id, text_version FROM consents WHERE subject_kind = 'employee' AND subject_ref = ?"
            " AND purpose = ? AND withdrawn_at IS NULL ORDER BY id",
            (employee_no, purpose),
        ).fetchall()
        if not open_rows:
            raise InputError(
                f"Employee {employee_no} has no consent to {purpose} on record; there is nothing to withdraw.",
                "Check the employee number; a withdrawn consent stays withdrawn until it is recorded again.",
                code="no-consent",
            )
        close_consents(conn, [int(row[0]) for row in open_rows], actor=actor, at=at)
        templates = conn.execute("DELETE FROM face_templates WHERE employee_id = ?", (employee[0],)).rowcount
        snapshots = delete_snapshot_rows(conn, employee_no)
        versions = [str(row[1]) for row in open_rows]
        audit.record(
            conn, at=at, actor=actor, action="consent.withdraw", subject=employee_no,
            detail={"purpose": purpose, "versions": versions, "templates": templates, "snapshots": len(snapshots)},
        )
        # consent_ref on a "removed" record is what tells the server this was a withdrawal, not a deletion.
        seq = queue_enrolment_record(
            conn, "removed", employee_no, actor=actor, at=at, clock_synced=clock_synced,
            consent_ref=versions[-1], template_count=int(templates), ref=f"consent-{open_rows[-1][0]}-withdrawn",
        )
    return Withdrawal(employee_no, versions, int(templates), snapshots, seq)


@dataclass(frozen=True)
class ConsentEntry:
    """One consent record of an employee, as the panel lists it (newest first)."""

    text_version: str
    recorded_at: str
    recorded_by: str
    withdrawn_at: str | None
    withdrawn_by: str | None


def consent_history(store: Store, employee_no: str, purpose: str) -> list[ConsentEntry]:
    rows = store.conn.execute(
        "SELECT text_version, recorded_at, recorded_by, withdrawn_at, withdrawn_by FROM consents"
        " WHERE subject_kind = 'employee' AND subject_ref = ? AND purpose = ? ORDER BY id DESC",
        (employee_no, purpose),
    ).fetchall()
    return [ConsentEntry(str(r[0]), str(r[1]), str(r[2]), r[3], r[4]) for r in rows]
