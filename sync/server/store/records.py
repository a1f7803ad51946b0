"""Idempotent ingest of device records keyed by (device_id, seq), the replay window's inputs, rejections.

A batch is stored in ONE transaction: either every new record of it is stored or none is, so an ingest
worker acknowledges a batch only after ``ingest`` returns. A record already stored with the same
content is a duplicate (harmless: re-acknowledge it); the same (device, seq) with different content is
a sequence reuse, never stored over the original, and counted as a rejection. Counter labels are the
protocol's reason codes (``sync.protocol.Reason``, PROTOCOL.md section 11): a reuse is ``replay`` (a body
unusable for its type never gets here: its whole message is refused as ``bad-payload``). An
``interview-result`` is also stored once per session_id (``interviews``): another record naming a stored
session counts ``duplicate`` (same device and content) or ``replay`` (anything else); either is
acknowledged, and the first session is kept.

Records arrive as the protocol's typed records (``sync.protocol.Record``), parsed and validated once
when the message was opened: every function here takes those typed bodies, never a dict.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync.protocol import Reason, body_dict
from sync.protocol.records import (
    CandidateDemographicsRecord,
    EnrolmentRecord,
    InterviewResultRecord,
    PunchBody,
    PunchCorrectionBody,
    PunchCorrectionRecord,
    PunchRecord,
    Record,
    RetentionRunRecord,
    UpdateStatusRecord,
)
from sync.server.store import (
    booth_retention,
    dead_letters,
    demographics,
    device_enrolments,
    interviews,
    resequence,
    rollouts,
    webhook_rows,
)
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore


@dataclass(frozen=True)
class IngestResult:
    """Sequences of a batch by outcome. Ack ``stored`` and ``duplicates``; never ``conflicts``."""

    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)  # same (device, seq), different content

    @property
    def ackable(self) -> list[int]:
        return sorted(self.stored + self.duplicates)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(record_type: str, body: Mapping[str, Any]) -> str:
    return digest_of(record_type, canonical(body))


def digest_of(record_type: str, body_text: str) -> str:
    """``digest(type, body)`` from the body's canonical text: the same bytes as
    ``canonical({"type": ..., "body": ...})`` (sorted keys put "body" first), serialised once."""
    text = '{"body":' + body_text + ',"type":' + canonical(record_type) + "}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class _Incoming:
    """One distinct record of a batch with its body's stored text (as it travelled) and digest."""

    record: Record
    body_text: str
    digest: str


def ingest(store: HRStore, device_id: str, batch: Sequence[Record]) -> IngestResult:
    """Store a batch of the device's protocol records (as the records message carried them) exactly once.

    A handful of statements per batch, not per record: one multi-row INSERT ... ON CONFLICT DO NOTHING
    RETURNING tells the new records from the known ones, one SELECT reads the known ones' digests (only
    when there are any), punches go in as multi-row INSERTs and their webhook rows as one executemany.
    The protocol validated every body on receipt, so each one is usable for its type.
    """
    result = IngestResult()
    received_at = store.now_iso()
    rejections: Counter[str] = Counter()
    incoming: list[_Incoming] = []
    seen_in_batch: dict[int, str] = {}
    for record in sorted(batch, key=lambda r: r.seq):
        body_text = canonical(body_dict(record.body))
        this_digest = digest_of(record.type, body_text)
        if record.seq in seen_in_batch:
            (result.duplicates if seen_in_batch[record.seq] == this_digest else result.conflicts).append(record.seq)
            continue
        seen_in_batch[record.seq] = this_digest
        incoming.append(_Incoming(record, body_text, this_digest))
    with store.db.transaction() as tx:
        inserted = _insert_records(tx, device_id, incoming, received_at)
        known = [r for r in incoming if r.record.seq not in inserted]
        stored_digests = _digests(tx, device_id, [r.record.seq for r in known]) if known else {}
        conflicts: list[resequence.Conflict] = []
        for item in known:
            stored = stored_digests.get(item.record.seq, "")
            if stored == item.digest:
                result.duplicates.append(item.record.seq)
            else:
                result.conflicts.append(item.record.seq)
                rejections[Reason.REPLAY.value] += 1
                conflicts.append(resequence.Conflict(item.record.seq, item.record.type, _kept_text(item), item.digest,
                                                     stored))
        new = [r for r in incoming if r.record.seq in inserted]
        result.stored.extend(r.record.seq for r in new)
        # The same punch uid under another seq: already stored, so "duplicate" (the first is kept).
        _write_typed_rows(store, tx, device_id, new, received_at, rejections)
        for reason, count in sorted(rejections.items()):
            if count:
                count_rejection_tx(tx, reason, device_id, received_at, count)
        # After the new records are in: the device moves the conflicting ones above everything stored.
        resequence.on_conflicts(tx, device_id, conflicts, received_at)
    result.duplicates.sort()
    result.conflicts.sort()
    return result


def stored_alike(store: HRStore, device_id: str, batch: Sequence[Record]) -> bool:
    """Whether every record of ``batch`` is stored under its (device, seq) with the same content: the
    replay window's "known stored" says only that the sequence is taken, not by what (a device whose
    counter went backwards reuses sequences with other content, PROTOCOL.md section 10)."""
    wanted = {r.seq: digest_of(r.type, canonical(body_dict(r.body))) for r in batch}
    with store.db.transaction() as tx:
        return _digests(tx, device_id, list(wanted)) == wanted


#: Sequences per SELECT ... IN (...): a short statement (psycopg caches only short query texts).
_ROWS_PER_STATEMENT = 250


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _ROWS_PER_STATEMENT):
        yield items[start : start + _ROWS_PER_STATEMENT]


def _kept_text(item: _Incoming) -> str:
    """The body the raw log keeps: a candidate's self-reported demographics only in their own table (the
    raw row keeps its digest and ids, with the answers emptied), every other body as it travelled."""
    if isinstance(item.record, CandidateDemographicsRecord):
        return canonical(body_dict(item.record.body) | {"answers": {}})
    return item.body_text


def _insert_records(tx: Tx, device_id: str, incoming: Sequence[_Incoming], received_at: str) -> set[int]:
    """Insert the records not stored yet; return the sequences this statement inserted."""
    rows = [(device_id, r.record.seq, r.record.type, _kept_text(r), r.digest, received_at) for r in incoming]
    found = tx.insert_many(
        "INSERT INTO records (device_id, seq, type, body, digest, received_at)",
        rows,
        " ON CONFLICT DO NOTHING RETURNING seq",
    )
    return {int(row[0]) for row in found}


def _digests(tx: Tx, device_id: str, seqs: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(seqs):
        marks = ", ".join("?" * len(chunk))
        rows = tx.execute(
            f"SELECT seq, digest FROM records WHERE device_id = ? AND seq IN ({marks})",  # noqa: S608 - marks only
            (device_id, *chunk),
        ).all()
        found.update((int(seq), str(d)) for seq, d in rows)
    return found


def _write_typed_rows(
    store: HRStore, tx: Tx, device_id: str, new: Sequence[_Incoming], received_at: str, rejections: Counter[str]
) -> None:
    """Punches, corrections, enrolment events and interview sessions of the newly stored records, in sequence
    order (a correction finds a punch stored earlier in the same batch); count in ``rejections`` the punches
    refused for a duplicate uid and the interview results naming a session already stored."""
    refused = 0
    run: list[dict[str, Any]] = []
    for item in new:
        record = item.record
        if isinstance(record, PunchRecord):
            run.append(punch_row(device_id, record.seq, record.body, received_at))
        elif isinstance(record, EnrolmentRecord):
            row = device_enrolments.enrolment_row(
                device_id, record.seq, record.body, record.created_at_ms, record.clock_synced, received_at
            )
            device_enrolments.apply(tx, store.now(), row)
        elif isinstance(record, InterviewResultRecord):
            session = interviews.session_row(store.tz, device_id, record.seq, record.body, item.digest, received_at)
            reason = interviews.apply(tx, store.now(), session)
            if reason is not None:
                rejections[reason] += 1
        elif isinstance(record, CandidateDemographicsRecord):
            demographics.from_booth(tx, device_id, record.body, received_at)
        elif isinstance(record, RetentionRunRecord):
            booth_retention.add_run(tx, device_id, record.seq, record.body, received_at)
        elif isinstance(record, UpdateStatusRecord):
            rollouts.report(store, tx, device_id, record.body)
        elif isinstance(record, PunchCorrectionRecord):
            refused += _write_punches(store, tx, run)
            run = []
            _write_correction(store, tx, device_id, correction_row(device_id, record.seq, record.body, received_at))
    rejections[Reason.DUPLICATE.value] += refused + _write_punches(store, tx, run)


def _write_punches(store: HRStore, tx: Tx, rows: Sequence[dict[str, Any]]) -> int:
    if not rows:
        return 0
    found = tx.insert_many(
        f"INSERT INTO punches ({', '.join(rows[0])})",  # fixed column names
        [tuple(row.values()) for row in rows],
        " ON CONFLICT DO NOTHING RETURNING seq",
    )
    added = {int(row[0]) for row in found}
    # The same punch uid under another seq: the first is kept, the oddity counted by the caller.
    webhook_rows.enqueue_events(tx, "punch", (punch_event(r) for r in rows if r["seq"] in added), store.now())
    return len(rows) - len(added)


def _write_correction(store: HRStore, tx: Tx, device_id: str, correction: Mapping[str, Any]) -> None:
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


def punch_row(device_id: str, seq: int, body: PunchBody, received_at: str) -> dict[str, Any]:
    """The ``punches`` columns of a device's punch record."""
    return {
        "device_id": device_id,
        "seq": seq,
        "uid": body.uid,
        "employee_no": body.employee_no,
        "direction": body.direction,
        "work_day": body.work_day,
        "device_time": body.device_time,
        "device_time_ms": body.device_time_ms,
        "clock_synced": int(body.clock_synced),
        "source": body.source,
        "match_score": body.match_score,
        "liveness_score": body.liveness_score,
        "received_at": received_at,
    }


def punch_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a "punch" webhook event: what an HR system needs, never biometric data."""
    keys = ("uid", "device_id", "employee_no", "direction", "work_day", "device_time", "device_time_ms")
    return {k: row[k] for k in keys} | {"clock_synced": bool(row["clock_synced"])}


def correction_row(device_id: str, seq: int, body: PunchCorrectionBody, received_at: str) -> dict[str, Any]:
    """A device-side correction as a ``corrections`` row (``corrects_seq`` is resolved to a punch uid on write)."""
    add = body.action == "add"
    return {
        "employee_no": body.employee_no,
        "action": body.action,
        "punch_uid": body.punch_uid,
        "direction": body.direction if add else None,
        "at_ms": body.at_ms if add else None,
        "reason": body.reason,
        "actor": f"device:{device_id}:{body.admin}",
        "created_at": received_at,
        "device_id": device_id,
        "seq": seq,
        "corrects_seq": body.corrects_seq,
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


def dead_letter(store: HRStore, letter: dead_letters.DeadLetter) -> None:
    """Count ``letter``'s reason for its device and keep it as a dead letter, in one transaction."""
    at = store.now_iso()
    with store.db.transaction() as tx:
        count_rejection_tx(tx, letter.reason, letter.device_id, at)
        dead_letters.add(tx, letter, at)


def count_rejection(store: HRStore, reason: str, device_id: str | None) -> None:
    with store.db.transaction() as tx:
        count_rejection_tx(tx, reason, device_id, store.now_iso())


def count_rejection_tx(tx: Tx, reason: str, device_id: str | None, at: str, count: int = 1) -> None:
    """Add ``count`` occurrences of ``reason`` (a protocol reason code) for the device (one statement)."""
    Reason(reason)  # one set of labels everywhere: a ValueError names any other
    tx.execute(
        "INSERT INTO rejections (reason, device_id, count, last_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (reason, device_id) DO UPDATE SET count = rejections.count + excluded.count,"
        " last_at = excluded.last_at",
        (reason, device_id or "", count, at),
    )


def rejection_counts(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return tx.execute("SELECT reason, device_id, count, last_at FROM rejections ORDER BY reason, device_id").dicts()
