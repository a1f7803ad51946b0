"""Outbox rows as protocol records: each row travels as stored, validated against its typed body.

The record's ``seq`` is the outbox sequence, which the server uses as the idempotency key together
with the device id. A row the protocol refuses is a bug in its writer: it stays in the outbox.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import TypeAdapter, ValidationError

from device.store.outbox import OutboxRow
from device.store.punches import NewPunch
from sync.protocol import Record

_RECORD: TypeAdapter[Any] = TypeAdapter(Record)

class UnsendableRecord(Exception):
    """An outbox row that no protocol record can carry (a bug in the writer of the row)."""


def to_record(row: OutboxRow) -> Any:
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


def punch_record(seq: int, punch: NewPunch, device_id: str) -> Any:
    """The record a punch written by ``record_punch`` travels as (drills and tests build their own)."""
    body = asdict(punch) | {"device_id": device_id}
    return to_record(OutboxRow(seq, "punch", punch.uid, body, punch.device_time_ms, punch.clock_synced))
