"""A device whose record counter went backwards (PROTOCOL.md section 10, "Sequence regression").

A restored SD card makes a terminal number its new records with sequences the server has stored already,
with other content. Such a record is a *conflict*: never stored over the first, never acknowledged, counted
``replay`` and kept as a dead letter. The device is flagged for HR (``devices.sequence_flag``), and the
server queues a ``resequence`` command: the device moves its undelivered records under the conflicting
sequences above everything stored, and numbers its next records from there, so its punches are kept.

Two triggers, both inside the transaction that noticed them: a ``hello`` whose ``next_record_seq`` is not
above the highest stored sequence (the device's next records would collide), and records that conflicted.
A command still pending that covers the same ground is not queued again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.protocol import MessageType, Reason, message_topic, to_ranges
from sync.server.store import audit, dead_letters, downlinks
from sync.server.store.database import Tx
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

COUNTER_REGRESSED = "counter-regressed"
SEQUENCE_REUSED = "sequence-reused"


@dataclass(frozen=True)
class Conflict:
    """A record refused because its (device, seq) is stored with another digest."""

    seq: int
    record_type: str
    body_text: str
    digest: str
    stored_digest: str


def highest_seq(tx: Tx, device_id: str) -> int:
    """The device's highest stored record sequence (0 if none)."""
    return int(tx.execute("SELECT coalesce(max(seq), 0) FROM records WHERE device_id = ?", (device_id,)).scalar())


def on_hello(store: HRStore, device_id: str, next_record_seq: int) -> int | None:
    """A hello: if the device would number its next record at or below what is stored, flag it and make
    sure a ``resequence`` command will move its counter above. Returns the highest stored seq then, else None."""
    with store.db.transaction() as tx:
        highest = highest_seq(tx, device_id)
        if next_record_seq > highest:
            return None
        at = store.now_iso()
        detail = {"reported_next_record_seq": next_record_seq, "highest_stored_seq": highest}
        _flag(tx, device_id, COUNTER_REGRESSED, detail, at)
        if not any(body["next_record_seq"] > highest for body in _pending(tx, device_id)):
            _emit(tx, device_id, [], highest + 1, at)
    return highest


def on_conflicts(tx: Tx, device_id: str, conflicts: Sequence[Conflict], at: str) -> None:
    """Records refused as a sequence reuse, inside the ingest transaction: keep each as a dead letter,
    flag the device, and queue a ``resequence`` naming the sequences no pending command names yet."""
    if not conflicts:
        return
    topic = message_topic(device_id, MessageType.RECORDS)
    for c in conflicts:
        why = f"record {c.seq} ({c.record_type}) is stored with other content (digest {c.stored_digest})"
        letter = dead_letters.DeadLetter(
            device_id, topic, Reason.REPLAY.value, why, c.body_text, len(c.body_text), c.seq, c.digest
        )
        dead_letters.add(tx, letter, at)
    seqs = [c.seq for c in conflicts]
    _flag(tx, device_id, SEQUENCE_REUSED, {"conflicting_seqs": to_ranges(seqs)[:20]}, at)
    covered = [tuple(r) for body in _pending(tx, device_id) for r in body.get("records", [])]
    uncovered = [s for s in seqs if not any(first <= s <= last for first, last in covered)]
    registered = tx.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).one() is not None
    if uncovered and registered:  # (ingest only opens registered devices' messages; a tool may call it bare)
        _emit(tx, device_id, to_ranges(uncovered), highest_seq(tx, device_id) + 1, at)


def _pending(tx: Tx, device_id: str) -> list[dict[str, Any]]:
    rows = tx.execute(
        "SELECT body FROM downlinks WHERE device_id = ? AND type = 'resequence' AND confirmed_at IS NULL",
        (device_id,),
    ).all()
    return [json.loads(row[0]) for row in rows]


def _emit(tx: Tx, device_id: str, ranges: list[tuple[int, int]], next_seq: int, at: str) -> None:
    body = {"next_record_seq": next_seq, "records": [list(r) for r in ranges]}
    command_seq = downlinks.emit(tx, device_id, "resequence", body, at)
    tx.execute(
        "UPDATE devices SET sequence_flag_detail = ? WHERE id = ?",
        (json.dumps(_detail(tx, device_id) | {"resequence_command": command_seq, "next_record_seq": next_seq}),
         device_id),
    )


def _detail(tx: Tx, device_id: str) -> dict[str, Any]:
    text = tx.execute("SELECT sequence_flag_detail FROM devices WHERE id = ?", (device_id,)).scalar()
    return dict(json.loads(text)) if text else {}


def _flag(tx: Tx, device_id: str, kind: str, detail: dict[str, Any], at: str) -> None:
    """Flag the device for HR (the first time is kept; a later event updates the kind and the detail)."""
    tx.execute(
        "UPDATE devices SET sequence_flag = ?, sequence_flag_at = coalesce(sequence_flag_at, ?),"
        " sequence_flag_detail = ? WHERE id = ?",
        (kind, at, json.dumps(_detail(tx, device_id) | detail), device_id),
    )


def clear_flag(store: HRStore, device_id: str, actor: str) -> None:
    """HR has looked into it: the flag goes (the dead letters and the audit log stay)."""
    at = store.now_iso()
    with store.db.transaction() as tx:
        flagged = tx.execute("SELECT sequence_flag FROM devices WHERE id = ?", (device_id,)).one()
        if flagged is None:
            raise NotFound(f"There is no device {device_id}.", "Check the device id.")
        tx.execute(
            "UPDATE devices SET sequence_flag = NULL, sequence_flag_at = NULL, sequence_flag_detail = NULL"
            " WHERE id = ?",
            (device_id,),
        )
        audit.record(tx, at, actor, "device.sequence-flag.clear", f"device:{device_id}", {"was": flagged[0]})
