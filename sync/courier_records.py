"""Outbox rows as protocol records: the device's stored shape mapped onto the wire's typed bodies.

The outbox keeps what the device wrote (a punch row keeps ``employee_no``, ``device_time_ms``...);
the protocol carries typed bodies (``employee_id``, ``at_ms``...). The record's ``seq`` is the outbox
sequence, which the server uses as the idempotency key together with the device id.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from device.store.outbox import OutboxRow
from sync.protocol import Record

_RECORD: TypeAdapter[Any] = TypeAdapter(Record)

# Device punch sources whose method is not a face match (a PIN pad or a card reader).
_METHODS = {"pin": "pin", "card": "card"}


class UnsendableRecord(Exception):
    """An outbox row that no protocol record can carry (a bug in the writer of the row)."""


def _punch_body(body: dict[str, Any]) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "employee_id": body.get("employee_no"),
        "direction": body.get("direction"),
        "at_ms": body.get("device_time_ms"),
        "clock_synced": bool(body.get("clock_synced")),
        "method": _METHODS.get(str(body.get("source", "face")), "face"),
    }
    for score in ("match_score", "liveness_score"):
        value = body.get(score)
        if isinstance(value, int | float) and not isinstance(value, bool):
            # Cosine similarities can dip below 0 and models can round past 1: the wire keeps 0..1.
            wire[score] = min(1.0, max(0.0, float(value)))
    return wire


def to_record(row: OutboxRow) -> Any:
    """The protocol record for ``row``, or UnsendableRecord saying why not."""
    if row.type == "punch":
        wire = {"seq": row.seq, "kind": "punch", "body": _punch_body(row.body)}
    else:  # other record kinds are written in their wire shape already
        wire = {"seq": row.seq, "kind": row.type, "body": row.body}
    try:
        return _RECORD.validate_python(wire, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UnsendableRecord(f"outbox row {row.seq} ({row.type}): {where}: {first['msg']}") from None
