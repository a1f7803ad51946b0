"""The server's commands on this device: those applied (``downlink_commands``, with whether the server has
seen our confirmation) and those held until their turn (``downlink_held``, sealed by the caller).

Functions taking a connection run inside the caller's transaction (``device.courier.downlink`` applies a
command and records it in one); functions taking the store read, or write in a transaction of their own.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from device.store.database import Store


@dataclass(frozen=True)
class AppliedCommand:
    type: str
    outcome: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class HeldPage:
    """One page of a command held until its turn; ``body`` is sealed when ``nonce`` is set."""

    command_seq: int
    page: int
    pages: int
    type: str
    key_id: str | None
    nonce: bytes | None
    body: bytes


# -- applied commands --------------------------------------------------------------------------------


def applied(store: Store, command_seq: int) -> AppliedCommand | None:
    """What became of command ``command_seq`` here, or None if it was never applied (nor refused)."""
    row = store.conn.execute(
        "SELECT type, outcome, detail FROM downlink_commands WHERE command_seq = ?", (command_seq,)
    ).fetchone()
    return None if row is None else AppliedCommand(str(row[0]), str(row[1]), json.loads(row[2]))


def confirm_again(conn: sqlite3.Connection, command_seq: int) -> None:
    """The server sent the command again (our confirmation was lost): send the confirmation again."""
    conn.execute("UPDATE downlink_commands SET confirmed_at_ms = NULL WHERE command_seq = ?", (command_seq,))


def record_applied(
    conn: sqlite3.Connection, command_seq: int, kind: str, outcome: str, detail: dict[str, Any], at_ms: int
) -> None:
    """Record what became of a command (unconfirmed), and forget every held page up to it."""
    conn.execute(
        "INSERT INTO downlink_commands (command_seq, type, outcome, detail, applied_at_ms) VALUES (?, ?, ?, ?, ?)",
        (command_seq, kind, outcome, json.dumps(detail, ensure_ascii=False, sort_keys=True), at_ms),
    )
    conn.execute("DELETE FROM downlink_held WHERE command_seq <= ?", (command_seq,))


def unconfirmed(store: Store, limit: int = 1000) -> list[int]:
    """Commands whose confirmation the server has not acknowledged yet, lowest first."""
    rows = store.conn.execute(
        "SELECT command_seq FROM downlink_commands WHERE confirmed_at_ms IS NULL ORDER BY command_seq LIMIT ?",
        (limit,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def mark_confirmed(store: Store, command_seqs: list[int], at_ms: int) -> None:
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE downlink_commands SET confirmed_at_ms = ? WHERE command_seq = ? AND confirmed_at_ms IS NULL",
            [(at_ms, seq) for seq in command_seqs],
        )


def command_floor(store: Store) -> int:
    """Highest command sequence n such that every command 1..n has been applied (the hello's floor)."""
    count, highest = store.conn.execute(
        "SELECT count(*), coalesce(max(command_seq), 0) FROM downlink_commands"
    ).fetchone()
    if count == highest:  # applied in order: 1..highest, no gap (the usual case, one indexed query)
        return int(highest)
    floor = 0  # a store from before in-order application may have gaps
    for (seq,) in store.conn.execute("SELECT command_seq FROM downlink_commands ORDER BY command_seq"):
        if seq != floor + 1:
            break
        floor = seq
    return floor


# -- held commands -----------------------------------------------------------------------------------


def held_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM downlink_held").fetchone()[0])


def hold(conn: sqlite3.Connection, page: HeldPage, *, received_at_ms: int) -> None:
    """Keep a page; pages of one command agree on their number, so a different paging replaces the older
    one, and a page already held stays as it is."""
    conn.execute("DELETE FROM downlink_held WHERE command_seq = ? AND pages != ?", (page.command_seq, page.pages))
    conn.execute(
        "INSERT INTO downlink_held (command_seq, page, pages, type, key_id, nonce, body, received_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (command_seq, page) DO NOTHING",
        (page.command_seq, page.page, page.pages, page.type, page.key_id, page.nonce, page.body, received_at_ms),
    )


def held_pages(store: Store, command_seq: int) -> list[HeldPage]:
    """The pages held of command ``command_seq``, in page order."""
    rows = store.conn.execute(
        "SELECT page, pages, type, key_id, nonce, body FROM downlink_held WHERE command_seq = ? ORDER BY page",
        (command_seq,),
    ).fetchall()
    return [
        HeldPage(
            command_seq,
            int(page),
            int(pages),
            str(kind),
            kid,
            None if nonce is None else bytes(nonce),
            bytes(body),
        )
        for page, pages, kind, kid, nonce, body in rows
    ]


def drop_held(conn: sqlite3.Connection, command_seq: int) -> None:
    conn.execute("DELETE FROM downlink_held WHERE command_seq = ?", (command_seq,))
