"""Idempotent ingest of device records keyed by (device_id, seq), the replay window's inputs, rejections.

A batch is stored in ONE transaction: either every new record of it is stored or none is, so an ingest
worker acknowledges a batch only after ``ingest`` returns. A record already stored with the same
content is a duplicate (harmless: re-acknowledge it); the same (device, seq) with different content is
a sequence reuse, never stored over the original, and counted as a rejection. Counter labels are the
protocol's reason codes (``sync.protocol.Reason``, PROTOCOL.md section 11): a reuse is ``replay``, a
body unusable for its type ``bad-payload``. An ``interview-result`` is also stored once per session_id
(``interviews``): another record naming a stored session counts ``duplicate`` (same device and content) or
``replay`` (anything else); either is acknowledged, and the first session is kept.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.protocol import Reason
from sync.server.store import device_enrolments, interviews, webhook_rows
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
    return digest_of(record_type, canonical(body))


def digest_of(record_type: str, body_text: str) -> str:
    """``digest(type, body)`` from the body's canonical text: the same bytes as
    ``canonical({"type": ..., "body": ...})`` (sorted keys put "body" first), serialised once."""
    text = '{"body":' + body_text + ',"type":' + canonical(record_type) + "}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class _Incoming:
    """One distinct record of a batch, serialised once: stored text, digest, and its typed row (if any)."""

    seq: int
    type: str
    body_text: str
    digest: str
    punch: dict[str, Any] | None = None
    correction: dict[str, Any] | None = None
    enrolment: dict[str, Any] | None = None
    interview: dict[str, Any] | None = None


def ingest(store: HRStore, device_id: str, batch: Sequence[Mapping[str, Any]]) -> IngestResult:
    """Store a batch of ``{seq, type, body}`` records (``kind`` is accepted for ``type``) exactly once.
    An item may also carry the record's ``created_at_ms`` and ``clock_synced`` (enrolment events keep them).

    A handful of statements per batch, not per record: one multi-row INSERT ... ON CONFLICT DO NOTHING
    RETURNING tells the new records from the known ones, one SELECT reads the known ones' digests (only
    when there are any), punches go in as multi-row INSERTs and their webhook rows as one executemany.
    """
    parsed = sorted(((*_parse(item), item) for item in batch), key=lambda r: r[0])
    result = IngestResult()
    received_at = store.now_iso()
    rejections: Counter[str] = Counter()
    incoming: list[_Incoming] = []
    seen_in_batch: dict[int, str] = {}
    for seq, record_type, body, item in parsed:
        body_text = canonical(body)
        this_digest = digest_of(record_type, body_text)
        if seq in seen_in_batch:
            (result.duplicates if seen_in_batch[seq] == this_digest else result.conflicts).append(seq)
            continue
        seen_in_batch[seq] = this_digest
        record = _Incoming(seq, record_type, body_text, this_digest)
        try:
            if record_type == "punch":
                record.punch = punch_row(store, device_id, seq, body, received_at)
            elif record_type == "punch-correction":
                record.correction = correction_row(device_id, seq, body, received_at)
            elif record_type == "enrolment":
                at_ms, synced = item.get("created_at_ms"), item.get("clock_synced")
                if not isinstance(at_ms, int) or isinstance(at_ms, bool):  # a caller without the record's time
                    at_ms, synced = int(store.now().timestamp() * 1000), False
                record.enrolment = device_enrolments.enrolment_row(
                    device_id, seq, body, at_ms, synced is True, received_at
                )
            elif record_type == "interview-result":
                record.interview = interviews.session_row(store.tz, device_id, seq, body, this_digest, received_at)
        except InputError:
            result.rejected.append(seq)
            rejections[Reason.BAD_PAYLOAD.value] += 1
            continue
        incoming.append(record)
    with store.db.transaction() as tx:
        inserted = _insert_records(tx, device_id, incoming, received_at)
        known = [r for r in incoming if r.seq not in inserted]
        stored_digests = _digests(tx, device_id, [r.seq for r in known]) if known else {}
        for record in known:
            if stored_digests.get(record.seq) == record.digest:
                result.duplicates.append(record.seq)
            else:
                result.conflicts.append(record.seq)
                rejections[Reason.REPLAY.value] += 1
        new = [r for r in incoming if r.seq in inserted]
        result.stored.extend(r.seq for r in new)
        # The same punch uid under another seq: already stored, so "duplicate" (the first is kept).
        _write_typed_rows(store, tx, device_id, new, rejections)
        for reason, count in sorted(rejections.items()):
            if count:
                count_rejection_tx(tx, reason, device_id, received_at, count)
    result.duplicates.sort()
    result.conflicts.sort()
    return result


#: Sequences per SELECT ... IN (...): a short statement (psycopg caches only short query texts).
_ROWS_PER_STATEMENT = 250


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _ROWS_PER_STATEMENT):
        yield items[start : start + _ROWS_PER_STATEMENT]


def _insert_records(tx: Tx, device_id: str, incoming: Sequence[_Incoming], received_at: str) -> set[int]:
    """Insert the records not stored yet; return the sequences this statement inserted."""
    rows = [(device_id, r.seq, r.type, r.body_text, r.digest, received_at) for r in incoming]
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
    store: HRStore, tx: Tx, device_id: str, new: Sequence[_Incoming], rejections: Counter[str]
) -> None:
    """Punches, corrections, enrolment events and interview sessions of the newly stored records, in sequence
    order (a correction finds a punch stored earlier in the same batch); count in ``rejections`` the punches
    refused for a duplicate uid and the interview results naming a session already stored."""
    refused = 0
    run: list[dict[str, Any]] = []
    for record in new:
        if record.punch is not None:
            run.append(record.punch)
        elif record.enrolment is not None:
            device_enrolments.apply(tx, store.now(), record.enrolment)
        elif record.interview is not None:
            reason = interviews.apply(tx, store.now(), record.interview)
            if reason is not None:
                rejections[reason] += 1
        elif record.correction is not None:
            refused += _write_punches(store, tx, run)
            run = []
            _write_correction(store, tx, device_id, record.correction)
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


def _parse(item: Mapping[str, Any]) -> tuple[int, str, Mapping[str, Any]]:
    seq, record_type, body = item.get("seq"), item.get("type", item.get("kind")), item.get("body")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise InputError(f"A record's seq must be an integer from 1 to {MAX_SEQ}, not {seq!r}.", "Fix the sender.")
    if not isinstance(record_type, str) or not record_type:
        raise InputError(f"Record {seq} has no type.", "Send records as {seq, type, body}.")
    if not isinstance(body, Mapping):
        raise InputError(f"Record {seq}'s body is not an object.", "Send records as {seq, type, body}.")
    return seq, record_type, body


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
    work_day, device_time = body.get("work_day"), body.get("device_time")
    if not work_day or not device_time:  # the protocol's body: derive them in the server's time zone
        local = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(store.tz)
        work_day, device_time = work_day or local.date().isoformat(), device_time or local.isoformat()
    return {
        "device_id": device_id,
        "seq": seq,
        "uid": str(body.get("uid") or f"{device_id}:{seq}"),
        "employee_no": employee_no,
        "direction": direction,
        "work_day": str(work_day),
        "device_time": str(device_time),
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
