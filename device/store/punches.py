"""Punches: written with their outbox row in one transaction, so none is ever recorded but not sent."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Literal

from device.store import outbox
from device.store.database import Store

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


def record_punch(store: Store, punch: NewPunch, device_id: str) -> Punch:
    """Durably store a punch and its outbox row; return only after both are committed."""
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM employees WHERE employee_no = ?", (punch.employee_no,)).fetchone()
        cursor = conn.execute(
            "INSERT INTO punches (uid, employee_id, employee_no, direction, work_day, device_time, device_time_ms,"
            " monotonic_ns, clock_synced, source, match_score, liveness_score, models)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                punch.uid,
                row[0] if row else None,
                punch.employee_no,
                punch.direction,
                punch.work_day,
                punch.device_time,
                punch.device_time_ms,
                punch.monotonic_ns,
                int(punch.clock_synced),
                punch.source,
                punch.match_score,
                punch.liveness_score,
                json.dumps(punch.models, sort_keys=True),
            ),
        )
        assert cursor.lastrowid is not None
        body = asdict(punch) | {"device_id": device_id}
        seq = outbox.enqueue(
            conn, "punch", punch.uid, body, created_at_ms=punch.device_time_ms, clock_synced=punch.clock_synced
        )
    return Punch(**asdict(punch), id=cursor.lastrowid, seq=seq)


def last_punch(store: Store, employee_no: str, work_day: str) -> tuple[Direction, int] | None:
    """The latest punch of a person on a work day: (direction, device_time_ms)."""
    row = store.conn.execute(
        "SELECT direction, device_time_ms FROM punches WHERE employee_no = ? AND work_day = ? "
        "ORDER BY device_time_ms DESC, id DESC LIMIT 1",
        (employee_no, work_day),
    ).fetchone()
    return (row[0], int(row[1])) if row else None


def punches_on(store: Store, work_day: str) -> list[dict[str, object]]:
    cursor = store.conn.execute(
        "SELECT p.uid, p.employee_no, e.name, p.direction, p.device_time, p.match_score, p.liveness_score"
        " FROM punches p LEFT JOIN employees e ON e.employee_no = p.employee_no"
        " WHERE p.work_day = ? ORDER BY p.device_time_ms",
        (work_day,),
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
