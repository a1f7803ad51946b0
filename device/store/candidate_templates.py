"""A booth's copy of candidates' registered-photo templates (the server's ``candidate-templates`` command).

Written only by the courier's downlink handler inside the transaction that records the command; sealed with
the device's data key (AES-256-GCM), bound to candidate and model so a row moved to another candidate does not
open. Read by the booth's identity check (``device.booth.identity``) only after the candidate consented.
Removed by the command's removals and by the candidate's erasure (``booth_rights.erase_candidate``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from core.datakey import DataKey
from device.store.database import Store


def _context(candidate_id: str, model: str) -> bytes:
    return f"booth-candidate-template\x00{candidate_id}\x00{model}".encode()


def replace(
    conn: sqlite3.Connection, key: DataKey, candidate_id: str, model: str, templates: Sequence[bytes], *,
    command_seq: int, at_ms: int,
) -> int:
    """Make ``templates`` (raw little-endian float32) the candidate's only ones, in the caller's transaction."""
    delete(conn, candidate_id)
    for plain in templates:
        nonce, sealed = key.seal(plain, _context(candidate_id, model))
        conn.execute(
            "INSERT INTO booth_candidate_templates (candidate_id, model, key_id, nonce, ciphertext, command_seq,"
            " received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (candidate_id, model, key.key_id, nonce, sealed, command_seq, at_ms),
        )
    return len(templates)


def delete(conn: sqlite3.Connection, candidate_id: str) -> int:
    """Remove the candidate's templates, in the caller's transaction; return how many."""
    return int(conn.execute("DELETE FROM booth_candidate_templates WHERE candidate_id = ?", (candidate_id,)).rowcount)


def prune(conn: sqlite3.Connection, keep: Sequence[str]) -> int:
    """Delete the templates of candidates no longer on the booth's list (a new list arrived), in the caller's
    transaction: a registered photo is not kept longer than the candidate is expected here."""
    held = [str(r[0]) for r in conn.execute("SELECT DISTINCT candidate_id FROM booth_candidate_templates")]
    return sum(delete(conn, c) for c in held if c not in set(keep))


def load(store: Store, key: DataKey, candidate_id: str) -> tuple[str, list[np.ndarray]] | None:
    """The candidate's (model, templates as float32 vectors), or None when the booth holds none."""
    rows = store.conn.execute(
        "SELECT model, key_id, nonce, ciphertext FROM booth_candidate_templates WHERE candidate_id = ? ORDER BY id",
        (candidate_id,),
    ).fetchall()
    if not rows:
        return None
    model = str(rows[0][0])
    vectors = [
        np.frombuffer(key.open(bytes(nonce), bytes(sealed), _context(candidate_id, model)), dtype="<f4").copy()
        for _model, _key_id, nonce, sealed in rows
    ]
    return model, vectors


def count(store: Store, candidate_id: str | None = None) -> int:
    """Templates held (of one candidate, or of all)."""
    if candidate_id is None:
        return int(store.conn.execute("SELECT count(*) FROM booth_candidate_templates").fetchone()[0])
    sql = "SELECT count(*) FROM booth_candidate_templates WHERE candidate_id = ?"
    return int(store.conn.execute(sql, (candidate_id,)).fetchone()[0])
