"""The booth sessions the admin panel lists: who (names and ids only, never audio or transcripts), when,
how the session stands and whether its interview-result has left the booth.

Status: ``in-progress`` while a session is open and was touched within the resume window; ``abandoned``
when it was closed because it was interrupted (power cut, restart, the candidate walked away) or is open
and past the window (the booth closes it at its next start); ``completed`` otherwise (``ended-early``:
the candidate chose to stop; the answers given are sent). Upload: ``queued`` while the result's outbox
row waits, ``delivered`` once the server acknowledged it (the outbox's delivered mark is set only then).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from device.store.database import Store

PAGE_SIZE = 25
Status = Literal["in-progress", "completed", "abandoned"]
Upload = Literal["none", "queued", "delivered"]


@dataclass(frozen=True)
class ListedSession:
    session_id: str
    candidate_id: str
    candidate_name: str
    role_id: str
    lang: str
    walk_in: bool
    started_at_ms: int
    completed_at_ms: int | None
    close_reason: str | None
    status: Status
    upload: Upload
    delivered_at_ms: int | None


def _status(open_: bool, updated_at_ms: int, close_reason: str | None, now_ms: int, resume_ms: int) -> Status:
    if open_:
        return "in-progress" if now_ms - updated_at_ms <= resume_ms else "abandoned"
    return "abandoned" if close_reason == "interrupted" else "completed"


def page(store: Store, number: int, *, now_ms: int, resume_minutes: int) -> tuple[list[ListedSession], int]:
    """(sessions of page ``number``, newest first; how many sessions this booth holds)."""
    total = int(store.conn.execute("SELECT count(*) FROM booth_sessions").fetchone()[0])
    rows = store.conn.execute(
        "SELECT s.session_id, s.candidate_id, s.candidate_name, s.role_id, s.lang, s.walk_in, s.started_at_ms,"
        " s.completed_at_ms, s.close_reason, s.status, s.updated_at_ms, s.outbox_seq, o.delivered_at_ms"
        " FROM booth_sessions s LEFT JOIN outbox o ON o.seq = s.outbox_seq"
        " ORDER BY s.started_at_ms DESC, s.session_id LIMIT ? OFFSET ?",
        (PAGE_SIZE, max(0, number) * PAGE_SIZE),
    ).fetchall()
    listed = []
    for (session_id, candidate_id, name, role_id, lang, walk_in, started, completed, reason, status, updated,
         outbox_seq, delivered) in rows:
        upload: Upload = "none" if outbox_seq is None else "queued" if delivered is None else "delivered"
        listed.append(ListedSession(
            session_id, candidate_id, name, role_id, lang, bool(walk_in), int(started),
            None if completed is None else int(completed), reason,
            _status(status == "open", int(updated), reason, now_ms, resume_minutes * 60_000), upload,
            None if delivered is None else int(delivered)))
    return listed, total
