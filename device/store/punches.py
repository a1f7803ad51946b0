"""Punches: written with their outbox row in one transaction, so none is ever recorded but not sent.

The body the punch travels under (the protocol's ``PunchBody``) is built here, once, when the punch is
recorded: the outbox keeps that body's JSON and the courier sends it as stored.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Literal

from pydantic import ValidationError

from core.errors import StoreError
from device.store import outbox
from device.store.database import Store
from sync.protocol import PunchBody

Direction = Literal["in", "out"]


@dataclass(frozen=True)
class NewPunch:
    employee_no: str
    direction: Direction
    work_day: str  # ISO date of the local work day this punch belongs to
    device_time: str  # ISO 8601 with offset
    device_time_ms: int
    monotonic_ns: int
    clock_synced: bool
    source: str  # "face", "button+face", "manual", ...
    match_score: float | None = None
    liveness_score: float | None = None
    models: dict[str, str] = field(default_factory=dict)
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True)
class Punch(NewPunch):
    id: int = 0
    seq: int = 0  # the outbox sequence number the punch travels under


def punch_body(punch: NewPunch, device_id: str) -> PunchBody:
    """The one body a punch travels under, or StoreError when the protocol cannot carry it.

    Validated as the courier used to validate the outbox row at send time (lax: a numpy float is a
    float), so a punch is refused exactly when it could never have been sent; refusing it here, before
    anything is written, tells the person at once instead of leaving an unsendable outbox row."""
    try:
        return PunchBody.model_validate(asdict(punch) | {"device_id": device_id}, strict=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise StoreError(
            f"The punch of {punch.employee_no} cannot be sent to HR ({where}: {first['msg']}); nothing was stored.",
            "This is a bug in the terminal software: report it with the log line.",
        ) from None


def record_punch(store: Store, punch: NewPunch, device_id: str) -> Punch:
    """Durably store a punch and its outbox row; return only after both are committed."""
    body = punch_body(punch, device_id)
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM employees WHERE employee_no = ?", (body.employee_no,)).fetchone()
        cursor = conn.execute(
            "INSERT INTO punches (uid, employee_id, employee_no, direction, work_day, device_time, device_time_ms,"
            " monotonic_ns, clock_synced, source, match_score, liveness_score, models)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                body.uid,
                row[0] if row else None,
                body.employee_no,
                body.direction,
                body.work_day,
                body.device_time,
                body.device_time_ms,
                body.monotonic_ns,
                int(body.clock_synced),
                body.source,
                body.match_score,
                body.liveness_score,
                json.dumps(body.models, sort_keys=True),
            ),
        )
        assert cursor.lastrowid is not None
        seq = outbox.enqueue(conn, body.uid, body, created_at_ms=body.device_time_ms, clock_synced=body.clock_synced)
    return Punch(**asdict(punch), id=cursor.lastrowid, seq=seq)


def latest_punch(store: Store, employee_no: str) -> tuple[Direction, int, str] | None:
    """The person's most recently *recorded* punch on any day: (direction, device_time_ms, work_day).

    Ordered by row id, not device time: after the clock is corrected backwards the newest punch may
    carry an older time, and it is still the one just made.
    """
    row = store.conn.execute(
        "SELECT direction, device_time_ms, work_day FROM punches WHERE employee_no = ? ORDER BY id DESC LIMIT 1",
        (employee_no,),
    ).fetchone()
    return (_direction(row[0]), int(row[1]), str(row[2])) if row else None


def last_punch(store: Store, employee_no: str, work_day: str) -> tuple[Direction, int] | None:
    """The person's latest punch by time on a work day: (direction, device_time_ms)."""
    row = store.conn.execute(
        "SELECT direction, device_time_ms FROM punches WHERE employee_no = ? AND work_day = ? "
        "ORDER BY device_time_ms DESC, id DESC LIMIT 1",
        (employee_no, work_day),
    ).fetchone()
    return (_direction(row[0]), int(row[1])) if row else None


def _direction(value: object) -> Direction:
    return "in" if value == "in" else "out"
