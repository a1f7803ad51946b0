"""Face templates on the HR server: sealed with the server's data key, read back only to send to devices.

Photos are never stored: the enrolment route keeps the templates computed from them. Each template is
AES-256-GCM ciphertext bound (associated data) to its employee and model, so a row copied to another
employee does not decrypt. The key file sits in the server's state folder (mode 0600), like a device's.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.datakey import DataKey, load_or_create
from core.errors import StoreError
from sync.server.store import audit
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

DATA_KEY_FILE = "data.key"


def data_key_path(state_dir: Path) -> Path:
    return state_dir / DATA_KEY_FILE


def load_data_key(state_dir: Path, store: HRStore | None = None) -> DataKey:
    """The server's data key, created on first use; an API process and ingest workers share the file.

    Given the HR store, a missing key file while templates are stored is refused (the key was lost),
    never replaced by a new key that cannot open them (``core.datakey.load_or_create``)."""
    path = data_key_path(state_dir)
    sealed = (lambda: sealed_rows(store)) if store is not None else None
    try:
        return load_or_create(path, sealed_rows=sealed)
    except FileExistsError:  # another process created it between our check and our O_EXCL create
        return load_or_create(path, sealed_rows=sealed)


def sealed_rows(store: HRStore) -> int:
    """Face templates stored (employees' and candidates'), all sealed with the data key."""
    with store.db.read() as tx:
        sql = "SELECT (SELECT count(*) FROM face_templates) + (SELECT count(*) FROM candidate_templates)"
        return int(tx.execute(sql).scalar())


def _context(employee_no: str, model: str) -> bytes:
    return f"hr-face-template\x00{employee_no}\x00{model}".encode()


def replace(
    tx: Tx, key: DataKey, employee_no: str, model: str, vectors: Sequence[np.ndarray], at: str
) -> int:
    """Make ``vectors`` (float32) the employee's templates for ``model``, inside the caller's transaction.

    Refused when other templates are sealed with another key: the key file was lost and made anew by a
    process that was not told about the database; mixing key ids in one table breaks every gallery push.
    """
    other = tx.execute("SELECT key_id FROM face_templates WHERE key_id <> ? LIMIT 1", (key.key_id,)).scalar()
    if other is not None:
        raise StoreError(
            f"Stored face templates are sealed with data key {other}, not the server's key {key.key_id}:"
            " the server's data.key was lost or replaced. Nothing was enrolled.",
            f"Restore {DATA_KEY_FILE} in the server's state folder from the backup taken with the database,"
            " then restart the server and enrol again.",
            code="data-key-mismatch",
        )
    tx.execute("DELETE FROM face_templates WHERE employee_no = ? AND model = ?", (employee_no, model))
    context = _context(employee_no, model)
    for vector in vectors:
        nonce, sealed = key.seal(np.asarray(vector, dtype="<f4").tobytes(), context)
        tx.execute(
            "INSERT INTO face_templates (employee_no, model, key_id, nonce, ciphertext, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (employee_no, model, key.key_id, base64.b64encode(nonce).decode(), base64.b64encode(sealed).decode(), at),
        )
    return len(vectors)


def delete(tx: Tx, employee_no: str) -> int:
    """Remove every template of the employee (erasure), inside the caller's transaction."""
    return int(tx.execute("DELETE FROM face_templates WHERE employee_no = ?", (employee_no,)).rowcount)


def load(store: HRStore, key: DataKey, employee_nos: Sequence[str]) -> dict[str, tuple[str, list[bytes]]]:
    """Decrypted templates as raw little-endian float32 bytes: employee_no -> (model, templates).

    Employees with no templates are absent. When an employee has templates of several models (the
    embedder changed), the newest model enrolled is the one returned.
    """
    out: dict[str, tuple[str, list[bytes]]] = {}
    with store.db.read() as tx:
        for employee_no in employee_nos:
            rows = tx.execute(
                "SELECT model, key_id, nonce, ciphertext FROM face_templates WHERE employee_no = ?"
                " ORDER BY created_at DESC, id",
                (employee_no,),
            ).all()
            if not rows:
                continue
            model = str(rows[0][0])
            plain: list[bytes] = []
            for row_model, key_id, nonce, sealed in rows:
                if row_model != model:
                    continue
                if key_id != key.key_id:
                    raise StoreError(
                        f"Employee {employee_no}'s templates were sealed with data key {key_id},"
                        f" not the server's key {key.key_id}.",
                        "Restore the server's data.key from backup, or re-enrol the employee from photos.",
                    )
                plain.append(key.open(base64.b64decode(nonce), base64.b64decode(sealed), _context(employee_no, model)))
            out[employee_no] = (model, plain)
    return out


def counts(store: HRStore, employee_no: str) -> dict[str, int]:
    """Templates per model for one employee (for the API's reply and the tests; no biometric data)."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT model, count(*) FROM face_templates WHERE employee_no = ? GROUP BY model", (employee_no,)
        ).all()
    return {str(m): int(n) for m, n in rows}


def record_enrolment(
    tx: Tx, at: str, actor: str, employee_no: str, *, consent_text_version: str, model: str, templates: int,
    photos: int, accepted: int,
) -> None:
    """The audit entry of a server-side enrolment: the consent text version and counts, never images."""
    audit.record(
        tx,
        at,
        actor,
        "employee.enrol-photos",
        f"employee:{employee_no}",
        {
            "consent_text_version": consent_text_version,
            "model": model,
            "templates": templates,
            "photos": photos,
            "accepted": accepted,
        },
    )
