"""What the admin panel reads and writes about punches: a day's punches (filtered, paged), punches per
hour, and the admin's corrections, which travel to HR as the protocol's ``punch-correction`` records.

A correction is not a punch: it is an outbox row (``PunchCorrectionBody``: ``add`` a missed punch, or
``void`` a wrong one, with a reason) written in ONE transaction with its audit entry, like a punch with its
outbox row. The terminal's own punches stay as they were recorded; HR's timesheets apply the correction.
The panel lists the corrections from the outbox rows (so nothing else has to be kept in step).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from core.errors import InputError
from device.store import audit, outbox
from device.store.database import Store
from device.store.roster_query import like_pattern
from sync.protocol import PunchCorrectionBody

PAGE_SIZE = 50


@dataclass(frozen=True)
class PunchRow:
    id: int
    uid: str
    seq: int | None
    employee_no: str
    name: str
    direction: str
    device_time: str
    clock_synced: bool
    source: str
    match_score: float | None
    snapshot: bool
    voided: bool


@dataclass(frozen=True)
class CorrectionRow:
    seq: int
    action: str
    employee_no: str
    direction: str | None
    at_ms: int | None
    punch_uid: str | None
    reason: str
    admin: str
    delivered: bool


def day_punches(store: Store, day: str, employee: str = "", *, page: int = 0) -> tuple[list[PunchRow], int]:
    """The punches of work day ``day`` (of one employee number or name fragment if given), newest first:
    (one page of rows, the total count)."""
    where, params = "p.work_day = ?", [day]
    if employee:
        where += " AND (p.employee_no = ? OR e.name LIKE ? ESCAPE '\\')"
        params += [employee, like_pattern(employee)]
    base = f"FROM punches p LEFT JOIN employees e ON e.employee_no = p.employee_no WHERE {where}"
    total = int(store.conn.execute(f"SELECT count(*) {base}", params).fetchone()[0])
    rows = store.conn.execute(
        "SELECT p.id, p.uid, (SELECT o.seq FROM outbox o WHERE o.type = 'punch' AND o.ref = p.uid),"  # noqa: S608 - fixed text
        " p.employee_no, coalesce(e.name, ''), p.direction, p.device_time, p.clock_synced, p.source, p.match_score,"
        f" EXISTS (SELECT 1 FROM punch_snapshots s WHERE s.punch_id = p.id) {base}"
        " ORDER BY p.device_time_ms DESC, p.id DESC LIMIT ? OFFSET ?",
        [*params, PAGE_SIZE, max(0, page) * PAGE_SIZE],
    ).fetchall()
    voided = voided_uids(store)
    return [PunchRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9], bool(r[10]), r[1] in voided)
            for r in rows], total


def punch_by_uid(store: Store, uid: str) -> tuple[str, str] | None:
    """(employee_no, work_day) of the punch ``uid``, or None."""
    row = store.conn.execute("SELECT employee_no, work_day FROM punches WHERE uid = ?", (uid,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def per_hour(store: Store, day: str) -> list[int]:
    """Punches of work day ``day`` counted by the local hour of their device time (24 numbers)."""
    counts = [0] * 24
    rows = store.conn.execute(
        "SELECT substr(device_time, 12, 2), count(*) FROM punches WHERE work_day = ? GROUP BY 1", (day,)
    ).fetchall()
    for hour, count in rows:
        if isinstance(hour, str) and hour.isdigit() and int(hour) < 24:
            counts[int(hour)] += int(count)
    return counts


def corrections(store: Store, limit: int = 100) -> list[CorrectionRow]:
    """The newest corrections made on this terminal (from their outbox rows)."""
    rows = store.conn.execute(
        "SELECT seq, body, delivered_at_ms FROM outbox WHERE type = 'punch-correction' ORDER BY seq DESC LIMIT ?",
        (limit,),
    ).fetchall()
    found = []
    for seq, text, delivered in rows:
        b: dict[str, Any] = json.loads(text)
        found.append(CorrectionRow(int(seq), b["action"], b["employee_no"], b.get("direction"), b.get("at_ms"),
                                   b.get("punch_uid"), b["reason"], b["admin"], delivered is not None))
    return found


def voided_uids(store: Store) -> set[str]:
    rows = store.conn.execute(
        "SELECT json_extract(body, '$.punch_uid') FROM outbox WHERE type = 'punch-correction'"
        " AND json_extract(body, '$.action') = 'void'"
    ).fetchall()
    return {str(r[0]) for r in rows if r[0]}


def record_correction(store: Store, fields: dict[str, Any], *, actor: str, at: datetime, clock_synced: bool) -> int:
    """Validate a correction as the protocol's body, then write its outbox row and audit entry together.

    ``fields``: action, employee_no, reason, admin, and direction + at_ms (add) or punch_uid (void).
    Returns the outbox sequence; InputError (nothing written) when the body is not valid."""
    try:
        body = PunchCorrectionBody.model_validate(fields | {"clock_synced": clock_synced})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "correction"
        raise InputError(f"The correction is not valid ({where}: {first['msg']}).",
                         "Fix the form and send it again.") from None
    ref = f"fix-{uuid.uuid4()}"
    with store.transaction() as conn:
        seq = outbox.enqueue(conn, ref, body, created_at_ms=int(at.timestamp() * 1000), clock_synced=clock_synced)
        detail = {k: v for k, v in fields.items() if k != "employee_no"} | {"seq": seq}
        audit.record(conn, at=at, actor=actor, action=f"punch.correction.{body.action}", subject=body.employee_no,
                     detail=detail)
    return seq
