"""The downlink outbox: commands for devices (erase, gallery...) written here, sent by the ingest side.

Each command gets the next per-device ``command_seq`` from a counter on the device's row; the UPDATE
locks that row, so concurrent writers (API workers, several processes) never hand out a number twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sync.protocol import to_ranges
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

TYPES = ("erase", "gallery", "config", "candidates", "rotate-key", "resequence", "retention-policy", "update",
         "candidate-templates")


def emit(tx: Tx, device_id: str, command_type: str, body: dict[str, Any], at: str) -> int:
    """Queue a command for a device inside the caller's transaction; return its command_seq."""
    if command_type not in TYPES:
        raise ValueError(f"unknown downlink type {command_type!r}")
    seq = tx.execute(
        "UPDATE devices SET command_seq = command_seq + 1 WHERE id = ? RETURNING command_seq", (device_id,)
    ).scalar()
    if seq is None:
        raise ValueError(f"no device {device_id!r}")
    tx.execute(
        "INSERT INTO downlinks (device_id, command_seq, type, body, created_at) VALUES (?, ?, ?, ?, ?)",
        (device_id, seq, command_type, json.dumps(body, ensure_ascii=False, sort_keys=True), at),
    )
    return int(seq)


def pending(store: HRStore, device_id: str | None = None) -> list[dict[str, Any]]:
    """Commands not yet confirmed by their device, oldest first (sent ones included: resend until confirmed)."""
    sql = "SELECT id, device_id, command_seq, type, body, created_at, sent_at FROM downlinks WHERE confirmed_at IS NULL"
    with store.db.read() as tx:
        if device_id is None:
            rows = tx.execute(sql + " ORDER BY device_id, command_seq").dicts()
        else:
            rows = tx.execute(sql + " AND device_id = ? ORDER BY command_seq", (device_id,)).dicts()
    for row in rows:
        row["body"] = json.loads(row["body"])
    return rows


def mark_sent(store: HRStore, device_id: str, command_seqs: Iterable[int]) -> None:
    with store.db.transaction() as tx:
        for seq in command_seqs:
            tx.execute(
                "UPDATE downlinks SET sent_at = ? WHERE device_id = ? AND command_seq = ? AND sent_at IS NULL",
                (store.now_iso(), device_id, seq),
            )


def confirm(store: HRStore, device_id: str, command_seqs: Iterable[int]) -> int:
    """The device applied these commands; return how many were newly confirmed."""
    return confirm_ranges(store, device_id, to_ranges(command_seqs))


def confirm_ranges(store: HRStore, device_id: str, ranges: Iterable[tuple[int, int]]) -> int:
    """``confirm`` for an ``ack-downlink``'s ranges, one statement per range: a range is never expanded
    into its numbers (a device may name a million commands; only the ones that exist are touched)."""
    confirmed = 0
    with store.db.transaction() as tx:
        for first, last in ranges:
            confirmed += tx.execute(
                "UPDATE downlinks SET confirmed_at = ? WHERE device_id = ? AND command_seq >= ?"
                " AND command_seq <= ? AND confirmed_at IS NULL",
                (store.now_iso(), device_id, first, last),
            ).rowcount
    return confirmed


def reopen_above(store: HRStore, device_id: str, command_floor: int) -> int:
    """The device says it has applied commands 1..``command_floor`` only: any confirmed command above
    that was lost on its side (a restored store), so it becomes pending again. Returns how many."""
    with store.db.transaction() as tx:
        return int(
            tx.execute(
                "UPDATE downlinks SET confirmed_at = NULL, sent_at = NULL WHERE device_id = ? AND command_seq > ?"
                " AND confirmed_at IS NOT NULL",
                (device_id, command_floor),
            ).rowcount
        )
