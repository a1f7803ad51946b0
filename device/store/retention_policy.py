"""The site's retention policy as the server last sent it (the ``retention-policy`` downlink command).

Written only by the courier's downlink handler, inside the transaction that records the command as applied;
read by the booth's retention job (``device.booth.retention``), which falls back to its config without it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from device.store.database import Store


@dataclass(frozen=True)
class Policy:
    audio_days: int
    transcript_days: int
    command_seq: int


def replace(conn: sqlite3.Connection, audio_days: int, transcript_days: int, *, command_seq: int, at_ms: int) -> None:
    """Make this the policy, inside the caller's transaction (the newest command in command order wins)."""
    conn.execute(
        "INSERT INTO retention_policy (id, audio_days, transcript_days, command_seq, received_at_ms)"
        " VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET audio_days = excluded.audio_days,"
        " transcript_days = excluded.transcript_days, command_seq = excluded.command_seq,"
        " received_at_ms = excluded.received_at_ms",
        (audio_days, transcript_days, command_seq, at_ms),
    )


def current(store: Store) -> Policy | None:
    row = store.conn.execute("SELECT audio_days, transcript_days, command_seq FROM retention_policy").fetchone()
    return Policy(int(row[0]), int(row[1]), int(row[2])) if row else None
