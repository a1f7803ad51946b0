"""A candidate's rights: everything held about them (export), and erasure on request, which reaches the
booths through the downlink (an ``erase`` command naming the candidate, PROTOCOL.md section 8) and is
confirmed back by each booth's ``ack-downlink``."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from typing import TYPE_CHECKING, Any

from sync.protocol import CANDIDATE_ERASURE
from sync.server import review as scoring
from sync.server.store import audit, candidate_templates, candidates, demographics, downlinks, interviews, review
from sync.server.store.employees import NotFound
from sync.server.store.interview_erasure import erase_session_in

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

ERASE_REASON = CANDIDATE_ERASURE


def _session_ids(store: HRStore, candidate_id: str) -> list[str]:
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT session_id FROM interview_sessions WHERE candidate_id = ? AND erased_at IS NULL"
            " ORDER BY completed_ms",
            (candidate_id,),
        ).all()
    return [str(r[0]) for r in rows]


def export(store: HRStore, candidate_id: str, *, with_demographics: bool) -> dict[str, Any]:
    """Everything the server holds about a candidate: their schedule, every session (answers with the booth's
    evidence for each, scores with evidence, current scores with their matches, key points and sub-scores,
    and overrides), shortlist decisions, erasure requests and (for roles that may
    read them) their self-reported demographics."""
    try:
        schedule: dict[str, Any] | None = candidates.get(store, candidate_id)
    except NotFound:
        schedule = None
    sessions = []
    for session_id in _session_ids(store, candidate_id):
        report = interviews.report(store, session_id)
        with store.db.read() as tx:
            views = review.score_views(tx, [session_id])[session_id]
            body = review.booth_bodies(tx, [session_id])[session_id]
        # The booth's structured evidence as the review page reads it (matches, key points, sub-scores): the
        # candidate is owed what stands behind each score and each answer, not only the evidence sentences.
        report["current_scores"] = [v.as_json() | {"evidence": scoring.evidence(body, v.position)} for v in views]
        for answer in report["answers"]:
            answer["evidence"] = scoring.answer_evidence(body, str(answer["question_id"]))
        report["overrides"] = review.overrides_of(store, session_id)
        sessions.append(report)
    held = demographics.of(store, candidate_id)["answers"]
    decisions = review.decisions_of(store, candidate_id)
    if schedule is None and not sessions and not decisions and not held:
        raise NotFound(f"The server holds nothing about candidate {candidate_id}.", "Check the candidate id.")
    return {
        "candidate_id": candidate_id,
        "exported_at": store.now_iso(),
        "schedule": schedule,
        "sessions": sessions,
        "decisions": decisions,
        "demographics": held if with_demographics else None,
        "demographics_held": len(held),
        "erasures": erasures_of(store, candidate_id),
    }


def _booths(store: HRStore, candidate_id: str) -> list[str]:
    """Active booths that may hold something of the candidate: their sessions' booths and their schedule's."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT device_id FROM interview_sessions WHERE candidate_id = ? AND erased_at IS NULL"
            " UNION SELECT device_id FROM candidates WHERE candidate_id = ? AND device_id IS NOT NULL",
            (candidate_id, candidate_id),
        ).all()
        active = {str(r[0]) for r in tx.execute("SELECT id FROM devices WHERE status = 'active'").all()}
    return sorted({str(r[0]) for r in rows} & active)


def erase(store: HRStore, candidate_id: str, actor: str) -> dict[str, Any]:
    """Erase everything of a candidate's on the server in one transaction (sessions, decisions, demographics,
    their schedule) and queue an ``erase`` for every booth that may hold their data; the audit log keeps the
    act and the counts, never content."""
    sessions, booths = _session_ids(store, candidate_id), _booths(store, candidate_id)
    erasure_id = f"cand-{secrets.token_hex(8)}"
    now = store.now_iso()
    counts: Counter[str] = Counter()
    with store.db.transaction() as tx:
        for session_id in sessions:
            counts += erase_session_in(tx, session_id, now)
        counts["decisions"] = tx.execute(
            "DELETE FROM shortlist_decisions WHERE candidate_id = ?", (candidate_id,)
        ).rowcount
        counts["demographics"] = demographics.delete_in(tx, candidate_id)
        counts["templates"] = candidate_templates.delete(tx, candidate_id)  # the booth's erase deletes its copy
        scheduled = tx.execute("SELECT device_id FROM candidates WHERE candidate_id = ?", (candidate_id,)).one()
        counts["schedule"] = tx.execute("DELETE FROM candidates WHERE candidate_id = ?", (candidate_id,)).rowcount
        if sum(counts.values()) == 0 and not booths:
            raise NotFound(f"The server holds nothing about candidate {candidate_id}.", "Check the candidate id.")
        commands = {}
        for device_id in booths:
            body = {"employee_nos": [candidate_id], "erasure_id": erasure_id, "reason": ERASE_REASON}
            commands[device_id] = downlinks.emit(tx, device_id, "erase", body, now)
        if scheduled is not None and scheduled[0] in booths:  # the booth's list no longer names them
            now_ms = int(store.now().timestamp() * 1000)
            downlinks.emit(
                tx, scheduled[0], "candidates", {"candidates": candidates.booth_list(tx, scheduled[0], now_ms)}, now
            )
        tx.execute(
            "INSERT INTO candidate_erasures (erasure_id, candidate_id, requested_by, requested_at, counts)"
            " VALUES (?, ?, ?, ?, ?)",
            (erasure_id, candidate_id, actor, now, json.dumps(dict(counts), sort_keys=True)),
        )
        for device_id, seq in commands.items():
            tx.execute(
                "INSERT INTO candidate_erasure_commands (erasure_id, device_id, command_seq) VALUES (?, ?, ?)",
                (erasure_id, device_id, seq),
            )
        audit.record(tx, now, actor, "candidate.erase", f"candidate:{candidate_id}",
                     {"erasure_id": erasure_id, "counts": dict(counts), "booths": commands})  # fmt: skip
    return erasure(store, erasure_id)


def erasure(store: HRStore, erasure_id: str) -> dict[str, Any]:
    """An erasure request: what it erased (counts) and, per booth, whether the booth confirmed it."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT erasure_id, candidate_id, requested_by, requested_at, counts FROM candidate_erasures"
            " WHERE erasure_id = ?",
            (erasure_id,),
        ).dicts()
        if not rows:
            raise NotFound(f"There is no erasure request {erasure_id}.", "Check the erasure id.")
        booths = tx.execute(
            "SELECT c.device_id, c.command_seq, d.sent_at, d.confirmed_at FROM candidate_erasure_commands c"
            " LEFT JOIN downlinks d ON d.device_id = c.device_id AND d.command_seq = c.command_seq"
            " WHERE c.erasure_id = ? ORDER BY c.device_id",
            (erasure_id,),
        ).dicts()
    row = rows[0]
    return row | {
        "counts": json.loads(row["counts"]),
        "booths": booths,
        "confirmed": all(b["confirmed_at"] is not None for b in booths),
    }


def erasures_of(store: HRStore, candidate_id: str) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        ids = [str(r[0]) for r in tx.execute(
            "SELECT erasure_id FROM candidate_erasures WHERE candidate_id = ? ORDER BY requested_at", (candidate_id,)
        ).all()]  # fmt: skip
    return [erasure(store, e) for e in ids]
