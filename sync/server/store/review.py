"""HR's review of interviews: score overrides (audited; the booth's score stays), shortlist decisions (always a
person's), and each role's candidates ranked by their current overall score.

An override is a row of ``score_overrides`` (before, after, reason, who, when) and an audit entry written in
the same transaction; the newest override of a competency is its current score. The booth's scores in
``interview_scores`` are never changed. A decision is a row of ``shortlist_decisions``; the newest per
candidate and role is current. Nothing here reads candidates' self-reported demographics.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from core.errors import InputError
from sync.protocol.records import InterviewResultBody
from sync.server import review
from sync.server.store import audit
from sync.server.store.database import Param, Tx
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

Decision = Literal["advance", "hold", "reject"]
DECISIONS: tuple[Decision, ...] = ("advance", "hold", "reject")
_CHUNK = 250


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def booth_bodies(tx: Tx, session_ids: list[str]) -> dict[str, InterviewResultBody | None]:
    """Each session's record as the booth sent it (None once erased): the evidence and weights live there."""
    found: dict[str, InterviewResultBody | None] = dict.fromkeys(session_ids)
    for chunk in _chunks(session_ids):
        rows = tx.execute(
            "SELECT s.session_id, r.body FROM interview_sessions s JOIN records r"  # noqa: S608 - marks only
            f" ON r.device_id = s.device_id AND r.seq = s.seq WHERE s.session_id IN ({_marks(len(chunk))})",
            chunk,
        ).all()
        for session_id, body in rows:
            found[str(session_id)] = review.parsed_body(str(body))
    return found


def latest_overrides(tx: Tx, session_ids: list[str]) -> dict[str, dict[int, float]]:
    found: dict[str, dict[int, float]] = {s: {} for s in session_ids}
    for chunk in _chunks(session_ids):
        rows = tx.execute(
            "SELECT session_id, position, after_score FROM score_overrides"  # noqa: S608 - marks only
            f" WHERE session_id IN ({_marks(len(chunk))}) ORDER BY id",
            chunk,
        ).all()
        for session_id, position, after in rows:  # later rows win
            found[str(session_id)][int(position)] = float(after)
    return found


def score_views(tx: Tx, session_ids: list[str]) -> dict[str, list[review.ScoreView]]:
    """Every session's scores as they stand now (overrides applied, booth weights attached)."""
    stored: dict[str, list[dict[str, Any]]] = {s: [] for s in session_ids}
    for chunk in _chunks(session_ids):
        for row in tx.execute(
            "SELECT session_id, position, competency, score, scale_max FROM interview_scores"  # noqa: S608
            f" WHERE session_id IN ({_marks(len(chunk))}) ORDER BY session_id, position",
            chunk,
        ).dicts():
            stored[row["session_id"]].append(row)
    bodies, latest = booth_bodies(tx, session_ids), latest_overrides(tx, session_ids)
    return {s: review.score_views(stored[s], latest[s], bodies[s]) for s in session_ids}


def override(store: HRStore, session_id: str, competency: str, score: float, reason: str, actor: str) -> dict[str, Any]:
    """Set a competency's current score (0..scale_max) with a reason; audited with before and after."""
    reason = reason.strip()
    if not reason:
        raise InputError("An override needs a reason.", "Say why the score should change.")
    now = store.now_iso()
    with store.db.transaction() as tx:
        views = _live_views(tx, session_id)
        view = next((v for v in views if v.competency == competency), None)
        if view is None:
            raise NotFound(f"Session {session_id} has no score for {competency}.",
                           "Use a competency of the session's report.")  # fmt: skip
        if not 0 <= score <= view.scale_max:
            raise InputError(
                f"Score {score} is outside 0..{view.scale_max}.", f"Give a score from 0 to {view.scale_max}."
            )
        tx.execute(
            "INSERT INTO score_overrides (session_id, position, competency, before_score, after_score, reason,"
            " actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, view.position, competency, view.current, score, reason, actor, now),
        )
        detail = {"competency": competency, "before": view.current, "after": score, "reason": reason,
                  "original": view.original}  # fmt: skip
        audit.record(tx, now, actor, "interview.override", f"interview:{session_id}", detail)
        after = score_views(tx, [session_id])[session_id]
    return {"session_id": session_id, **detail, "at": now, "overall": review.overall(after)}


def _live_views(tx: Tx, session_id: str) -> list[review.ScoreView]:
    row = tx.execute("SELECT 1 FROM interview_sessions WHERE session_id = ? AND erased_at IS NULL", (session_id,)).one()
    if row is None:
        raise NotFound(f"There is no interview session {session_id}.", "List sessions with GET /api/interviews.")
    return score_views(tx, [session_id])[session_id]


def overrides_of(store: HRStore, session_id: str) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT competency, before_score, after_score, reason, actor, at FROM score_overrides"
            " WHERE session_id = ? ORDER BY id",
            (session_id,),
        ).dicts()
    return [r | {"before_score": float(r["before_score"]), "after_score": float(r["after_score"])} for r in rows]


def decide(store: HRStore, candidate_id: str, role_id: str, decision: str, reason: str, actor: str) -> dict[str, Any]:
    """Record a person's shortlist decision (advance, hold or reject, with a reason) for a candidate."""
    if decision not in DECISIONS:
        raise InputError(f"Unknown decision {decision!r}.", "Choose advance, hold or reject.")
    reason = reason.strip()
    if not reason:
        raise InputError("A decision needs a reason.", "Say why.")
    now = store.now_iso()
    with store.db.transaction() as tx:
        known = tx.execute(
            "SELECT 1 FROM interview_sessions WHERE candidate_id = ? AND role_id = ? AND erased_at IS NULL"
            " UNION SELECT 1 FROM candidates WHERE candidate_id = ? AND role_id = ?",
            (candidate_id, role_id, candidate_id, role_id),
        ).one()
        if known is None:
            raise NotFound(f"Candidate {candidate_id} has no interview or schedule for role {role_id}.",
                           "Check the candidate and role ids.")  # fmt: skip
        tx.execute(
            "INSERT INTO shortlist_decisions (candidate_id, role_id, decision, reason, actor, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (candidate_id, role_id, decision, reason, actor, now),
        )
        audit.record(tx, now, actor, "candidate.decision", f"candidate:{candidate_id}",
                     {"role_id": role_id, "decision": decision, "reason": reason})  # fmt: skip
    return {"candidate_id": candidate_id, "role_id": role_id, "decision": decision, "reason": reason,
            "actor": actor, "at": now}  # fmt: skip


def decisions_of(store: HRStore, candidate_id: str) -> list[dict[str, Any]]:
    """Every decision about a candidate, newest first."""
    with store.db.read() as tx:
        return tx.execute(
            "SELECT role_id, decision, reason, actor, at FROM shortlist_decisions WHERE candidate_id = ?"
            " ORDER BY id DESC",
            (candidate_id,),
        ).dicts()


def _current_decisions(tx: Tx, role_id: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in tx.execute(
        "SELECT candidate_id, decision, reason, actor, at FROM shortlist_decisions WHERE role_id = ? ORDER BY id",
        (role_id,),
    ).dicts():
        found[row["candidate_id"]] = row
    return found


def board(store: HRStore, role_id: str, first: date | None = None, last: date | None = None) -> list[dict[str, Any]]:
    """A role's candidates, ranked by their current overall score (unscored last): each with their newest
    session in the period, its overall score, and the current decision (status)."""
    clauses, params = ["role_id = ?", "erased_at IS NULL"], list[Param]([role_id])
    for clause, day in (("completed_day >= ?", first), ("completed_day <= ?", last)):
        if day is not None:
            clauses.append(clause)
            params.append(day.isoformat())
    with store.db.read() as tx:
        sessions = tx.execute(
            "SELECT s.session_id, s.candidate_id, c.name AS candidate_name, s.completed_ms, s.integrity_flags"  # noqa: S608
            " FROM interview_sessions s LEFT JOIN candidates c ON c.candidate_id = s.candidate_id WHERE "
            + " AND ".join("s." + c for c in clauses)
            + " ORDER BY s.completed_ms DESC, s.session_id",
            params,
        ).dicts()
        newest: dict[str, dict[str, Any]] = {}
        for row in sessions:
            newest.setdefault(row["candidate_id"], row)
        views = score_views(tx, [r["session_id"] for r in newest.values()])
        decisions = _current_decisions(tx, role_id)
        scheduled = tx.execute(
            "SELECT candidate_id, name FROM candidates WHERE role_id = ? ORDER BY window_start_ms", (role_id,)
        ).all()
    rows = [_board_row(r, views[r["session_id"]], decisions.get(r["candidate_id"])) for r in newest.values()]
    rows.sort(key=lambda r: (r["overall"] is None, -(r["overall"] or 0.0), r["candidate_id"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank if row["overall"] is not None else None
    waiting = [{"candidate_id": c, "candidate_name": n, "status": "scheduled", "session_id": None, "overall": None,
                "rank": None, "decision": None} for c, n in scheduled if c not in newest]  # fmt: skip
    return rows + waiting


def _board_row(
    session: dict[str, Any], views: list[review.ScoreView], decision: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "candidate_id": session["candidate_id"],
        "candidate_name": session["candidate_name"],
        "session_id": session["session_id"],
        "completed_ms": int(session["completed_ms"]),
        "integrity_flags": session["integrity_flags"] != "[]",
        "overall": review.overall(views),
        "overridden": any(v.overridden for v in views),
        "status": decision["decision"] if decision else "interviewed",
        "decision": decision,
    }


def roles(store: HRStore) -> list[dict[str, Any]]:
    """Every role with interviews or scheduled candidates, and how many of each."""
    with store.db.read() as tx:
        done = dict(tx.execute(
            "SELECT role_id, COUNT(DISTINCT candidate_id) FROM interview_sessions WHERE erased_at IS NULL"
                " GROUP BY role_id"
        ).all())  # fmt: skip
        planned = dict(tx.execute("SELECT role_id, COUNT(*) FROM candidates GROUP BY role_id").all())
    return [{"role_id": r, "interviewed": int(done.get(r, 0)), "scheduled": int(planned.get(r, 0))}
            for r in sorted(set(done) | set(planned))]  # fmt: skip
