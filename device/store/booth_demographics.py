"""A candidate's optional self-report at the booth, kept apart from the interview.

The answers live only in the outbox row of their own ``candidate-demographics`` record (never in the session
rows the scorer reads, never in the audit log): the row is queued in one transaction with an audit entry that
names the dimensions answered, not the answers. Once the server acknowledged the record, the courier's
``outbox.mark_delivered`` empties the row's answers in the same transaction; a candidate's erasure empties
them at once, sent or not (the row keeps its sequence so the record stream stays whole).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from core.clock import to_ms
from device.store import audit, outbox
from device.store.database import Store
from sync.protocol import CandidateDemographicsBody

RECORD_TYPE = CandidateDemographicsBody.record_type


def record(store: Store, *, session_id: str, candidate_id: str, answers: Mapping[str, str], at: datetime,
           clock_synced: bool) -> int:
    """Queue the self-report (validated by the protocol body: a category it does not know is refused with a
    ValueError and nothing is written); returns its outbox sequence."""
    body = CandidateDemographicsBody(candidate_id=candidate_id, session_id=session_id, reported_ms=to_ms(at),
                                     answers=dict(answers))
    with store.transaction() as conn:
        seq = outbox.enqueue(conn, session_id, body, created_at_ms=body.reported_ms, clock_synced=clock_synced)
        audit.record(conn, at=at, actor="booth", action="interview-self-report", subject=candidate_id,
                     detail={"session_id": session_id, "dimensions": sorted(answers), "seq": seq})
    return seq


def erase_in(conn: sqlite3.Connection, candidate_id: str) -> int:
    """Inside the caller's transaction: empty every self-report of ``candidate_id``; returns how many."""
    return int(conn.execute(
        "UPDATE outbox SET body = json_set(body, '$.answers', json('{}')) WHERE type = ?"
        " AND json_extract(body, '$.candidate_id') = ? AND body != json_set(body, '$.answers', json('{}'))",
        (RECORD_TYPE, candidate_id)).rowcount)


def held(store: Store) -> int:
    """Self-reports whose answers the booth still holds (not yet acknowledged by the server)."""
    return int(store.conn.execute(
        "SELECT count(*) FROM outbox WHERE type = ? AND json_extract(body, '$.answers') != '{}'",
        (RECORD_TYPE,)).fetchone()[0])
