"""Outbox rows as protocol records: each row travels as stored, validated against its typed body.

The record's ``seq`` is the outbox sequence, which the server uses as the idempotency key together
with the device id. A row the protocol refuses is a bug in its writer: it stays in the outbox.
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from device.store.outbox import OutboxRow
from device.store.punches import NewPunch, punch_body
from sync.protocol import PunchRecord, Record

_RECORD: TypeAdapter[Record] = TypeAdapter(Record)


class UnsendableRecord(Exception):
    """An outbox row that no protocol record can carry (a bug in the writer of the row)."""


def to_record(row: OutboxRow) -> Record:
    """The protocol record for ``row`` (the row travels as stored), or UnsendableRecord saying why not."""
    wire = {
        "seq": row.seq,
        "type": row.type,
        "ref": row.ref,
        "created_at_ms": row.created_at_ms,
        "clock_synced": row.clock_synced,
        "body": row.body,
    }
    try:
        return _RECORD.validate_python(wire, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UnsendableRecord(f"outbox row {row.seq} ({row.type}): {where}: {first['msg']}") from None


def punch_record(seq: int, punch: NewPunch, device_id: str) -> PunchRecord:
    """The record a punch written by ``record_punch`` travels as, without a store (drills and tests)."""
    body = punch_body(punch, device_id)
    return PunchRecord(
        seq=seq, type="punch", ref=body.uid, created_at_ms=body.device_time_ms, clock_synced=body.clock_synced,
        body=body,
    )
