"""Erasing one interview session inside a caller's transaction: shared by a candidate's erasure request
and the retention job. Answers, scores, overrides (their reasons may quote the candidate) and the raw
record bodies go; the session's row stays as a tombstone (ids of the booth record, digest, times; no word
of the candidate) so a late resend from the booth stores nothing again (``interviews.apply``)."""

from __future__ import annotations

from collections import Counter

from sync.server.store.database import Tx
from sync.server.store.interviews import ERASED_BODY


def erase_session_in(tx: Tx, session_id: str, now: str) -> Counter[str]:
    """Erase a stored session; returns counts of what went (sessions, answers, scores, overrides, records)."""
    counts: Counter[str] = Counter()
    row = tx.execute(
        "SELECT device_id, seq FROM interview_sessions WHERE session_id = ? AND erased_at IS NULL", (session_id,)
    ).one()
    if row is None:
        return counts
    raw = [(str(row[0]), int(row[1]))] + [
        (str(d), int(s))
        for d, s in tx.execute(
            "SELECT device_id, seq FROM interview_conflicts WHERE session_id = ?", (session_id,)
        ).all()
    ]
    for table, key in (
        ("interview_answers", "answers"),
        ("interview_scores", "scores"),
        ("score_overrides", "overrides"),
    ):
        counts[key] += tx.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,)).rowcount  # noqa: S608
    tx.execute(
        "UPDATE interview_sessions SET candidate_id = '', consent_id = '', integrity_flags = '[]', delivery = '{}',"
        " erased_at = ? WHERE session_id = ?",
        (now, session_id),
    )
    for device_id, seq in raw:
        counts["records"] += tx.execute(
            "UPDATE records SET body = ? WHERE device_id = ? AND seq = ?", (ERASED_BODY, device_id, seq)
        ).rowcount
    counts["sessions"] += 1
    return counts
