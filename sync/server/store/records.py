"""Idempotent ingest of device records keyed by (device_id, seq), the replay window's inputs, rejections.

A batch is stored in ONE transaction: either every new record of it is stored or none is, so an ingest
worker acknowledges a batch only after ``ingest`` returns. A record already stored with the same
content is a duplicate (harmless: re-acknowledge it); the same (device, seq) with different content is
a sequence reuse, never stored over the original, and counted as a rejection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from device.errors import InputError
from sync.server.store import webhook_rows
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

MAX_SEQ = 2**63 - 1  # BIGINT in both engines


@dataclass(frozen=True)
class IngestResult:
    """Sequences of a batch by outcome. Ack ``stored`` and ``duplicates``; never ``conflicts``/``rejected``."""

    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)  # same (device, seq), different content
    rejected: list[int] = field(default_factory=list)  # body unusable for its type; nothing stored

    @property
    def ackable(self) -> list[int]:
        return sorted(self.stored + self.duplicates)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(record_type: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical({"type": record_type, "body": body}).encode("utf-8")).hexdigest()[:32]


def ingest(store: HRStore, device_id: str, batch: Sequence[Mapping[str, Any]]) -> IngestResult:
    """Store a batch of ``{seq, type, body}`` records (``kind`` is accepted for ``type``) exactly once."""
    parsed = [_parse(item) for item in batch]
    result = IngestResult()
    received_at = store.now_iso()
    with store.db.transaction() as tx:
        seen_in_batch: dict[int, str] = {}
        for seq, record_type, body in sorted(parsed, key=lambda r: r[0]):
            this_digest = digest(record_type, body)
            if seq in seen_in_batch:
                (result.duplicates if seen_in_batch[seq] == this_digest else result.conflicts).append(seq)
                continue
            seen_in_batch[seq] = this_digest
            try:
                typed = _typed_row(store, device_id, seq, record_type, body, received_at)
            except InputError:
                result.rejected.append(seq)
                count_rejection_tx(tx, "bad-record", device_id, received_at)
                continue
            inserted = tx.execute(
                "INSERT INTO records (device_id, seq, type, body, digest, received_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (device_id, seq, record_type, canonical(body), this_digest, received_at),
            ).rowcount
            if inserted:
                result.stored.append(seq)
                if typed is not None:
                    typed(tx)
                continue
            existing = tx.execute(
                "SELECT digest FROM records WHERE device_id = ? AND seq = ?", (device_id, seq)
            ).scalar()
            if existing == this_digest:
                result.duplicates.append(seq)
            else:
                result.conflicts.append(seq)
                count_rejection_tx(tx, "seq-reuse", device_id, received_at)
    return result


def _parse(item: Mapping[str, Any]) -> tuple[int, str, Mapping[str, Any]]:
    seq, record_type, body = item.get("seq"), item.get("type", item.get("kind")), item.get("body")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise InputError(f"A record's seq must be an integer from 1 to {MAX_SEQ}, not {seq!r}.", "Fix the sender.")
    if not isinstance(record_type, str) or not record_type:
        raise InputError(f"Record {seq} has no type.", "Send records as {seq, type, body}.")
    if not isinstance(body, Mapping):
        raise InputError(f"Record {seq}'s body is not an object.", "Send records as {seq, type, body}.")
    return seq, record_type, body


def _typed_row(
    store: HRStore, device_id: str, seq: int, record_type: str, body: Mapping[str, Any], received_at: str
) -> Any:
    """A function writing the typed row of a record (run only if the record is new), or None."""
    if record_type == "punch":
        row = punch_row(store, device_id, seq, body, received_at)

        def write_punch(tx: Tx) -> None:
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            added = tx.execute(
                f"INSERT INTO punches ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608 - fixed names
                tuple(row.values()),
            ).rowcount
            if not added:  # the same punch uid under another seq: keep the first, count the oddity
                count_rejection_tx(tx, "duplicate-punch-uid", device_id, received_at)
                return
            webhook_rows.enqueue_event(tx, "punch", punch_event(row), store.now())

        return write_punch
    if record_type == "punch-correction":
        correction = correction_row(device_id, seq, body, received_at)

        def write_correction(tx: Tx) -> None:
            row = dict(correction)
            target_seq = row.pop("corrects_seq")
            if target_seq is not None and row["punch_uid"] is None:
                row["punch_uid"] = tx.execute(
                    "SELECT uid FROM punches WHERE device_id = ? AND seq = ?", (device_id, target_seq)
                ).scalar()
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            tx.execute(
                f"INSERT INTO corrections ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
                tuple(row.values()),
            )
            webhook_rows.enqueue_event(tx, "correction", row, store.now())

        return write_correction
    return None  # other types (enrolment, interview-result...) are kept in records for their readers


def _need(body: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in body and body[name] is not None:
            return body[name]
    raise InputError(f"The record body has no {' or '.join(names)}.", "Fix the sender's record format.")


def punch_row(store: HRStore, device_id: str, seq: int, body: Mapping[str, Any], received_at: str) -> dict[str, Any]:
    """Columns of a punch from a device body: the terminal's (employee_no, device_time_ms, ...) or the
    protocol's (employee_id, at_ms, method)."""
    employee_no = _need(body, "employee_no", "employee_id")
    direction = _need(body, "direction")
    at_ms = _need(body, "device_time_ms", "at_ms")
    synced = _need(body, "clock_synced")
    if not isinstance(employee_no, str) or not employee_no or direction not in ("in", "out"):
        raise InputError(f"Punch {seq} has a bad employee or direction.", "Fix the sender.")
    if not isinstance(at_ms, int) or isinstance(at_ms, bool) or not isinstance(synced, bool):
        raise InputError(f"Punch {seq} has a bad time or clock flag.", "Fix the sender.")
    local = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(store.tz)
    return {
        "device_id": device_id,
        "seq": seq,
        "uid": str(body.get("uid") or f"{device_id}:{seq}"),
        "employee_no": employee_no,
        "direction": direction,
        "work_day": str(body.get("work_day") or local.date().isoformat()),
        "device_time": str(body.get("device_time") or local.isoformat()),
        "device_time_ms": at_ms,
        "clock_synced": int(synced),
        "source": str(body.get("source") or body.get("method") or "face"),
        "match_score": _score(body.get("match_score")),
        "liveness_score": _score(body.get("liveness_score")),
        "received_at": received_at,
    }


def _score(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def punch_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a "punch" webhook event: what an HR system needs, never biometric data."""
    keys = ("uid", "device_id", "employee_no", "direction", "work_day", "device_time", "device_time_ms")
    return {k: row[k] for k in keys} | {"clock_synced": bool(row["clock_synced"])}


def correction_row(device_id: str, seq: int, body: Mapping[str, Any], received_at: str) -> dict[str, Any]:
    """A device-side correction (the protocol's punch-correction body) as a corrections row."""
    action = _need(body, "action")
    if action not in ("add", "void"):
        raise InputError(f"Correction {seq} has unknown action {action!r}.", "Use add or void.")
    if action == "add" and (body.get("direction") not in ("in", "out") or not isinstance(body.get("at_ms"), int)):
        raise InputError(f"Correction {seq} adds a punch without a direction or time.", "Fix the sender.")
    return {
        "employee_no": str(_need(body, "employee_no", "employee_id")),
        "action": action,
        "punch_uid": body.get("punch_uid"),
        "direction": body.get("direction") if action == "add" else None,
        "at_ms": body.get("at_ms") if action == "add" else None,
        "reason": str(_need(body, "reason")),
        "actor": f"device:{device_id}:{_need(body, 'admin', 'actor')}",
        "created_at": received_at,
        "device_id": device_id,
        "seq": seq,
        "corrects_seq": body.get("corrects_seq"),
    }


def highest_contiguous_seq(store: HRStore, device_id: str) -> int:
    """The largest n such that records 1..n of the device are all stored (0 if seq 1 is missing)."""
    with store.db.read() as tx:
        if tx.execute("SELECT 1 FROM records WHERE device_id = ? AND seq = 1", (device_id,)).one() is None:
            return 0
        value = tx.execute(
            "SELECT min(r.seq) FROM records r WHERE r.device_id = ? AND NOT EXISTS"
            " (SELECT 1 FROM records n WHERE n.device_id = r.device_id AND n.seq = r.seq + 1)",
            (device_id,),
        ).scalar()
    return int(value)


def seen_seqs(store: HRStore, device_id: str, first: int, last: int) -> list[int]:
    """Stored sequences of the device in [first, last], ascending."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT seq FROM records WHERE device_id = ? AND seq >= ? AND seq <= ? ORDER BY seq",
            (device_id, first, last),
        ).all()
    return [int(r[0]) for r in rows]


def count_rejection(store: HRStore, reason: str, device_id: str | None) -> None:
    with store.db.transaction() as tx:
        count_rejection_tx(tx, reason, device_id, store.now_iso())


def count_rejection_tx(tx: Tx, reason: str, device_id: str | None, at: str) -> None:
    tx.execute(
        "INSERT INTO rejections (reason, device_id, count, last_at) VALUES (?, ?, 1, ?)"
        " ON CONFLICT (reason, device_id) DO UPDATE SET count = rejections.count + 1, last_at = excluded.last_at",
        (reason, device_id or "", at),
    )


def rejection_counts(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return tx.execute("SELECT reason, device_id, count, last_at FROM rejections ORDER BY reason, device_id").dicts()
