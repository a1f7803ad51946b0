"""A booth's candidate list: whom the server expects here, replaced whole by each "candidates" command.

Written only by the courier's downlink handler (``device.courier.commands``), inside the transaction that records
the command as applied; read by the booth, which starts an interview only for a candidate on the list
whose ``valid_until_ms`` has not passed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from device.store.database import Store


@dataclass(frozen=True)
class BoothCandidate:
    candidate_id: str
    name: str
    role_id: str
    question_bank_id: str
    valid_until_ms: int


def replace(conn: sqlite3.Connection, candidates: Sequence[BoothCandidate], *, command_seq: int, at_ms: int) -> int:
    """Make ``candidates`` the whole list, inside the caller's transaction; return how many were dropped."""
    dropped = conn.execute("DELETE FROM booth_candidates").rowcount
    conn.executemany(
        "INSERT INTO booth_candidates (candidate_id, name, role_id, question_bank_id, valid_until_ms, command_seq,"
        " received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (c.candidate_id, c.name, c.role_id, c.question_bank_id, c.valid_until_ms, command_seq, at_ms)
            for c in candidates
        ],
    )
    return int(dropped)


def current(store: Store, now_ms: int | None = None) -> list[BoothCandidate]:
    """The list, soonest-ending first; with ``now_ms``, only the candidates still valid then."""
    sql = "SELECT candidate_id, name, role_id, question_bank_id, valid_until_ms FROM booth_candidates"
    params: tuple[int, ...] = ()
    if now_ms is not None:
        sql += " WHERE valid_until_ms > ?"
        params = (now_ms,)
    rows = store.conn.execute(sql + " ORDER BY valid_until_ms, candidate_id", params).fetchall()
    return [BoothCandidate(str(c), str(n), str(r), str(q), int(v)) for c, n, r, q, v in rows]
