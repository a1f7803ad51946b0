"""Dead letters: what ingest refused after authenticating it, kept for an operator to inspect.

A validly signed message the worker cannot process (its body refused, or an error while storing it) and a
record refused as a sequence reuse (same (device, seq) stored with other content) each become one row here,
besides the ``rejections`` counter of their reason (``records.dead_letter`` does both in one
transaction). Nothing here is acknowledged to the device: records
stay in its outbox. The same message or record met again (a resend) bumps the row's ``count``.

Bounded: at most ``MAX_ROWS`` rows (the oldest go first) and ``MAX_BODY_CHARS`` characters of body each,
so a misbehaving terminal cannot fill the HR store through this table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.protocol import Reason
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

MAX_ROWS = 2000
MAX_BODY_CHARS = 64 * 1024
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class DeadLetter:
    """One refused message or record. ``body``: the record's JSON, or the envelope's bytes as hex."""

    device_id: str
    topic: str
    reason: str
    error: str
    body: str
    size: int
    record_seq: int | None = None
    digest: str | None = None

    def dedupe_key(self) -> str:
        """One row per distinct record (device, seq, digest) or message (its bytes, as kept)."""
        if self.record_seq is not None:
            return f"record:{self.device_id}:{self.record_seq}:{self.digest}"
        return "message:" + hashlib.sha256(f"{self.topic}\n{self.body}".encode()).hexdigest()


def of_message(device_id: str, topic: str, payload: bytes, reason: str, error: object) -> DeadLetter:
    """A whole message refused: its envelope kept as hex (the server can open it again to look inside)."""
    return DeadLetter(device_id, topic, reason, str(error), payload.hex(), len(payload))


def add(tx: Tx, letter: DeadLetter, at: str) -> None:
    """Keep ``letter`` inside the caller's transaction (count it again if met before); trim the table."""
    Reason(letter.reason)  # the protocol's reason codes only
    tx.execute(
        "INSERT INTO dead_letters (device_id, topic, reason, error, record_seq, digest, body, size, dedupe_key,"
        " count, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
        " ON CONFLICT (dedupe_key) DO UPDATE SET count = dead_letters.count + 1, last_at = excluded.last_at,"
        " error = excluded.error",
        (
            letter.device_id,
            letter.topic[:300],
            letter.reason,
            letter.error[:MAX_ERROR_CHARS],
            letter.record_seq,
            letter.digest,
            letter.body[:MAX_BODY_CHARS],
            letter.size,
            letter.dedupe_key(),
            at,
            at,
        ),
    )
    _trim(tx)


def _trim(tx: Tx) -> None:
    excess = int(tx.execute("SELECT count(*) FROM dead_letters").scalar()) - MAX_ROWS
    if excess > 0:
        tx.execute(
            "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY last_at, id LIMIT ?)",
            (excess,),
        )


def recent(store: HRStore, device_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest dead letters first (of one device, or of all), without their bodies."""
    columns = "id, device_id, topic, reason, error, record_seq, digest, size, count, first_at, last_at"
    where, params = ("WHERE device_id = ?", (device_id,)) if device_id else ("", ())
    with store.db.read() as tx:
        return tx.execute(
            f"SELECT {columns} FROM dead_letters {where} ORDER BY last_at DESC, id DESC LIMIT ?",  # noqa: S608
            (*params, max(1, min(limit, MAX_ROWS))),
        ).dicts()


def get(store: HRStore, letter_id: int) -> dict[str, Any] | None:
    """One dead letter with its body (a record's JSON, or the envelope as hex)."""
    with store.db.read() as tx:
        rows = tx.execute("SELECT * FROM dead_letters WHERE id = ?", (letter_id,)).dicts()
    return rows[0] if rows else None
