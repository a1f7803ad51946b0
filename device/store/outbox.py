"""The outbox: records waiting to reach the server, numbered by the per-device sequence.

A row holds a protocol record body as JSON (as it travels: ``sync.protocol.body_dict``) under the body's
record type; the courier sends it as stored.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from device.store.database import Store
from sync.protocol import RecordBody, body_dict


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    type: str
    ref: str
    body: dict[str, Any]
    created_at_ms: int
    clock_synced: bool


def enqueue(conn: sqlite3.Connection, ref: str, body: RecordBody, *, created_at_ms: int, clock_synced: bool) -> int:
    """Add a record inside the caller's transaction (the domain row and this row commit together)."""
    text = json.dumps(body_dict(body), separators=(",", ":"), ensure_ascii=False)
    cursor = conn.execute(
        "INSERT INTO outbox (type, ref, body, created_at_ms, clock_synced) VALUES (?, ?, ?, ?, ?)",
        (body.record_type, ref, text, created_at_ms, int(clock_synced)),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def pending(store: Store, limit: int, after_seq: int = 0) -> list[OutboxRow]:
    rows = store.conn.execute(
        "SELECT seq, type, ref, body, created_at_ms, clock_synced FROM outbox "
        "WHERE delivered_at_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [OutboxRow(r[0], r[1], r[2], json.loads(r[3]), r[4], bool(r[5])) for r in rows]




def mark_delivered(store: Store, seqs: list[int], at_ms: int) -> int:
    """Mark rows the server acknowledged; unknown or already delivered numbers are ignored."""
    if not seqs:
        return 0
    with store.transaction() as conn:
        changed = 0
        for seq in seqs:
            done = conn.execute(
                "UPDATE outbox SET delivered_at_ms = ? WHERE seq = ? AND delivered_at_ms IS NULL", (at_ms, seq)
            ).rowcount
            if done:  # a candidate's self-report leaves the booth once stored (device.store.booth_demographics)
                conn.execute(
                    "UPDATE outbox SET body = json_set(body, '$.answers', json('{}')) WHERE seq = ?"
                    " AND type = 'candidate-demographics'",
                    (seq,),
                )
            changed += done
    return changed


def backlog(store: Store) -> int:
    return int(store.conn.execute("SELECT count(*) FROM outbox WHERE delivered_at_ms IS NULL").fetchone()[0])


def last_delivered_ms(store: Store) -> int | None:
    """When the server last acknowledged a record here (epoch ms), or None if it never has."""
    row = store.conn.execute("SELECT max(delivered_at_ms) FROM outbox").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def next_seq(store: Store) -> int:
    """The sequence the next record gets: past every row and past the AUTOINCREMENT counter, which a
    ``resequence`` command may have moved beyond the rows (what a ``hello`` reports as next_record_seq)."""
    return _counter(store.conn) + 1


def renumber(conn: sqlite3.Connection, ranges: list[tuple[int, int]], next_record_seq: int) -> dict[int, int]:
    """A ``resequence`` command, inside the caller's transaction (PROTOCOL.md section 10): the next record
    gets at least ``next_record_seq``, and the undelivered rows under the sequences of ``ranges`` (the
    server holds other content there) move above everything, in their order. Returns old -> new seq.

    Only rows that exist are visited (a range is never expanded into its numbers); delivered rows and rows
    not named keep their numbers: the server stored them already, with this content."""
    top = max(next_record_seq - 1, _counter(conn))
    moved: dict[int, int] = {}
    for first, last in ranges:
        rows = conn.execute(
            "SELECT seq FROM outbox WHERE seq >= ? AND seq <= ? AND delivered_at_ms IS NULL ORDER BY seq",
            (first, last),
        ).fetchall()
        for (old,) in rows:
            top += 1
            conn.execute("UPDATE outbox SET seq = ? WHERE seq = ?", (top, old))
            moved[int(old)] = top
    if conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'", (top,)).rowcount == 0:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (top,))
    return moved


def _counter(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),"
        " coalesce((SELECT max(seq) FROM outbox), 0))"
    ).fetchone()
    return int(row[0])
