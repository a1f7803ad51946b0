"""Candidates' face templates on the HR server, from the registered photo HR uploads (never the photo).

Sealed with the server's data key (``templates``' scheme, bound to the candidate and model so a row copied
to another candidate does not decrypt) and read back only at send time, for the candidate's booth's
``candidate-templates`` command (PROTOCOL.md, "Candidate templates"). ``queue`` writes that command in the
caller's transaction: the booth that gains a candidate gets their templates, the booth that loses one a removal.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from core.datakey import DataKey
from core.errors import StoreError
from sync.server.store import downlinks
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

COMMAND = "candidate-templates"


def _context(candidate_id: str, model: str) -> bytes:
    return f"hr-candidate-template\x00{candidate_id}\x00{model}".encode()


def replace(tx: Tx, key: DataKey, candidate_id: str, model: str, vectors: Sequence[np.ndarray], at: str) -> int:
    """Make ``vectors`` (float32) the candidate's templates, inside the caller's transaction."""
    other = tx.execute("SELECT key_id FROM candidate_templates WHERE key_id <> ? LIMIT 1", (key.key_id,)).scalar()
    if other is not None:
        raise StoreError(
            f"Stored candidate templates are sealed with data key {other}, not the server's key {key.key_id}.",
            "Restore data.key in the server's state folder from the backup taken with the database.",
            code="data-key-mismatch",
        )
    tx.execute("DELETE FROM candidate_templates WHERE candidate_id = ?", (candidate_id,))
    context = _context(candidate_id, model)
    for vector in vectors:
        nonce, sealed = key.seal(np.asarray(vector, dtype="<f4").tobytes(), context)
        tx.execute(
            "INSERT INTO candidate_templates (candidate_id, model, key_id, nonce, ciphertext, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (candidate_id, model, key.key_id, base64.b64encode(nonce).decode(), base64.b64encode(sealed).decode(), at),
        )
    return len(vectors)


def delete(tx: Tx, candidate_id: str) -> int:
    """Remove the candidate's templates (candidate deleted or erased), inside the caller's transaction."""
    return int(tx.execute("DELETE FROM candidate_templates WHERE candidate_id = ?", (candidate_id,)).rowcount)


def count(tx: Tx, candidate_id: str) -> int:
    return int(tx.execute("SELECT count(*) FROM candidate_templates WHERE candidate_id = ?", (candidate_id,)).scalar())


def count_all(store: HRStore) -> int:
    with store.db.read() as tx:
        return int(tx.execute("SELECT count(*) FROM candidate_templates").scalar())


def queue(
    tx: Tx, device_id: str | None, at: str, *, upserts: Iterable[str] = (), removals: Iterable[str] = ()
) -> int | None:
    """Queue a ``candidate-templates`` command for an active booth (None: no booth, or not active)."""
    ups, rems = sorted(set(upserts)), sorted(set(removals))
    if device_id is None or not (ups or rems):
        return None
    if tx.execute("SELECT status FROM devices WHERE id = ?", (device_id,)).scalar() != "active":
        return None
    return downlinks.emit(tx, device_id, COMMAND, {"upserts": ups, "removals": rems}, at)


def load(store: HRStore, key: DataKey, candidate_ids: Sequence[str]) -> dict[str, tuple[str, list[bytes]]]:
    """Decrypted templates as raw little-endian float32 bytes: candidate_id -> (model, templates); candidates
    with none (never uploaded, deleted, erased) are absent."""
    out: dict[str, tuple[str, list[bytes]]] = {}
    with store.db.read() as tx:
        for candidate_id in candidate_ids:
            rows = tx.execute(
                "SELECT model, key_id, nonce, ciphertext FROM candidate_templates WHERE candidate_id = ? ORDER BY id",
                (candidate_id,),
            ).all()
            if not rows:
                continue
            model = str(rows[0][0])
            plain: list[bytes] = []
            for _model, key_id, nonce, sealed in rows:
                if key_id != key.key_id:
                    raise StoreError(
                        f"Candidate {candidate_id}'s templates were sealed with data key {key_id}, not {key.key_id}.",
                        "Restore the server's data.key from backup, or upload the candidate's photo again.",
                    )
                plain.append(key.open(base64.b64decode(nonce), base64.b64decode(sealed), _context(candidate_id, model)))
            out[candidate_id] = (model, plain)
    return out
