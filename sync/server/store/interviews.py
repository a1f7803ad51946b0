"""Interview sessions from booths: stored once per session_id, read back as HR's reports.

A booth sends each finished session as one ``interview-result`` record (PROTOCOL.md section 8). Ingest
stores it exactly once per (device, seq) like every record (``records``); here it also lands once per
``session_id``: the record that brings a session first makes it, and a later record naming the same
session is either a resend of it (same device, same content: ``duplicate``, nothing stored again) or a
conflict (other content, or another device: ``replay``, kept in ``interview_conflicts`` for an operator,
never written over the first). Both are acknowledged, so the booth's outbox drains either way.

Transcripts and evidence sentences are the candidate's words, personal data: the API shows them to HR and
admins only, the "interview.completed" webhook carries ids and numbers only, and ``erase`` removes them
(and the raw record's body) on request. Scores are advice to a human, never a decision; nothing here
infers emotion or personality, and the booth's ``delivery`` numbers (pace, pauses) stay apart from them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sync.protocol import Reason
from sync.protocol.records import InterviewResultBody
from sync.server.store import audit, webhook_rows
from sync.server.store.database import Param, Tx
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sync.server.store.hr_store import HRStore

EVENT = "interview.completed"
#: Sessions one listing returns at most (newest first): a page of a few weeks of a busy site.
MAX_LISTED = 2000
#: What an erased session's raw record body becomes: the (device, seq) and digest stay, so a resend is
#: still recognised as already stored, but no word of the candidate's is kept.
ERASED_BODY = '{"erased":true}'


def session_row(
    tz: ZoneInfo, device_id: str, seq: int, parsed: InterviewResultBody, digest: str, received_at: str
) -> dict[str, Any]:
    """The session, answers and scores rows of an ``interview-result`` record (the protocol validated it)."""
    return {
        "session": {
            "session_id": parsed.session_id,
            "device_id": device_id,
            "seq": seq,
            "digest": digest,
            "candidate_id": parsed.candidate_id,
            "role_id": parsed.role_id,
            "consent_id": parsed.consent_id,
            "completed_ms": parsed.completed_ms,
            "completed_day": _day(parsed.completed_ms, tz),
            "clock_synced": int(parsed.clock_synced),
            "integrity_flags": json.dumps(parsed.integrity_flags),
            "delivery": json.dumps(parsed.delivery, sort_keys=True),
            "received_at": received_at,
        },
        "answers": [
            (parsed.session_id, i, a.question_id, a.transcript, a.duration_ms, int(a.typed))
            for i, a in enumerate(parsed.answers)
        ],
        "scores": [
            (parsed.session_id, i, s.competency, s.score, s.scale_max, json.dumps(s.evidence, ensure_ascii=False))
            for i, s in enumerate(parsed.scores)
        ],
    }


def apply(tx: Tx, now: datetime, row: Mapping[str, Any]) -> str | None:
    """Store a parsed session inside the ingest transaction. Returns None when stored (and its webhook
    event queued), else the reason code to count: ``duplicate`` (this session, same device and content,
    is stored already) or ``replay`` (the session is stored with other content or from another device)."""
    session = row["session"]
    columns = ", ".join(session)
    marks = ", ".join("?" for _ in session)
    inserted = tx.execute(
        f"INSERT INTO interview_sessions ({columns}) VALUES ({marks})"  # noqa: S608 - fixed column names
        " ON CONFLICT DO NOTHING RETURNING session_id",
        tuple(session.values()),
    ).one()
    if inserted is None:
        first = tx.execute(
            "SELECT device_id, digest, erased_at FROM interview_sessions WHERE session_id = ?",
            (session["session_id"],),
        ).one()
        if first is not None and first[2] is not None:  # erased on request: keep no copy of it either
            tx.execute("UPDATE records SET body = ? WHERE device_id = ? AND seq = ?",
                       (ERASED_BODY, session["device_id"], session["seq"]))  # fmt: skip
            return Reason.DUPLICATE.value
        if first is not None and (first[0], first[1]) == (session["device_id"], session["digest"]):
            return Reason.DUPLICATE.value
        tx.execute(
            "INSERT INTO interview_conflicts (device_id, seq, session_id, digest, received_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (session["device_id"], session["seq"], session["session_id"], session["digest"], session["received_at"]),
        )
        return Reason.REPLAY.value
    tx.executemany(
        "INSERT INTO interview_answers (session_id, position, question_id, transcript, duration_ms, typed)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        row["answers"],
    )
    tx.executemany(
        "INSERT INTO interview_scores (session_id, position, competency, score, scale_max, evidence)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        row["scores"],
    )
    webhook_rows.enqueue_event(tx, EVENT, completed_event(row), now)
    return None


def completed_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The "interview.completed" webhook body: ids, times and scores; never a transcript or an evidence
    sentence (the candidate's words stay in the HR store, behind HR's and admins' tokens)."""
    session = row["session"]
    keys = ("session_id", "candidate_id", "role_id", "consent_id", "device_id", "completed_ms")
    return {k: session[k] for k in keys} | {
        "clock_synced": bool(session["clock_synced"]),
        "scores": [{"competency": s[2], "score": s[3], "scale_max": s[4]} for s in row["scores"]],
        "report": f"/api/interviews/{session['session_id']}",
    }


def _day(at_ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(tz).date().isoformat()


def _local(at_ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(tz).isoformat(timespec="seconds")


_SUMMARY = (
    "SELECT s.session_id, s.candidate_id, c.name AS candidate_name, s.role_id, s.device_id, s.seq, s.consent_id,"
    " s.completed_ms, s.clock_synced, s.integrity_flags, s.delivery, s.received_at"
    " FROM interview_sessions s LEFT JOIN candidates c ON c.candidate_id = s.candidate_id"
)


def _where(
    first: date | None, last: date | None, role_id: str | None, device_id: str | None, candidate_id: str | None
) -> tuple[str, list[Param]]:
    clauses: list[str] = ["s.erased_at IS NULL"]
    params: list[Param] = []
    for clause, value in (
        ("s.completed_day >= ?", first.isoformat() if first else None),
        ("s.completed_day <= ?", last.isoformat() if last else None),
        ("s.role_id = ?", role_id),
        ("s.device_id = ?", device_id),
        ("s.candidate_id = ?", candidate_id),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return " WHERE " + " AND ".join(clauses), params


def _shape(row: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    return row | {
        "completed_at": _local(int(row["completed_ms"]), tz),
        "clock_synced": bool(row["clock_synced"]),
        "integrity_flags": json.loads(row["integrity_flags"]),
        "delivery": json.loads(row["delivery"]),
    }


def _scores(tx: Tx, session_ids: list[str], *, evidence: bool) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {s: [] for s in session_ids}
    for start in range(0, len(session_ids), 250):
        chunk = session_ids[start : start + 250]
        marks = ", ".join("?" * len(chunk))
        sql = (
            "SELECT session_id, competency, score, scale_max, evidence FROM interview_scores"  # noqa: S608 - marks only
            f" WHERE session_id IN ({marks}) ORDER BY session_id, position"
        )
        for row in tx.execute(sql, chunk).dicts():
            score = {"competency": row["competency"], "score": float(row["score"]), "scale_max": row["scale_max"]}
            if evidence:
                score["evidence"] = json.loads(row["evidence"])
            found[row["session_id"]].append(score)
    return found


def list_sessions(
    store: HRStore,
    *,
    first: date | None = None,
    last: date | None = None,
    role_id: str | None = None,
    device_id: str | None = None,
    candidate_id: str | None = None,
    limit: int = MAX_LISTED,
) -> list[dict[str, Any]]:
    """Sessions completed on days ``first``..``last`` (the server's time zone; a booth with an unsynced
    clock says so in ``clock_synced``), newest first, with their scores (no transcripts, no evidence)."""
    where, params = _where(first, last, role_id, device_id, candidate_id)
    with store.db.read() as tx:
        rows = tx.execute(
            _SUMMARY + where + " ORDER BY s.completed_ms DESC, s.session_id LIMIT ?", (*params, min(limit, MAX_LISTED))
        ).dicts()
        scores = _scores(tx, [r["session_id"] for r in rows], evidence=False)
    return [_shape(r, store.tz) | {"scores": scores[r["session_id"]]} for r in rows]


def report(store: HRStore, session_id: str) -> dict[str, Any]:
    """One session in full: answers with their transcripts, scores with their evidence sentences, the
    consent id, the booth, the times, and any conflicting records that named the same session."""
    with store.db.read() as tx:
        rows = tx.execute(_SUMMARY + " WHERE s.session_id = ? AND s.erased_at IS NULL", (session_id,)).dicts()
        if not rows:
            raise NotFound(f"There is no interview session {session_id}.", "List sessions with GET /api/interviews.")
        answers = tx.execute(
            "SELECT question_id, transcript, duration_ms, typed FROM interview_answers WHERE session_id = ?"
            " ORDER BY position",
            (session_id,),
        ).dicts()
        scores = _scores(tx, [session_id], evidence=True)[session_id]
        conflicts = tx.execute(
            "SELECT device_id, seq, received_at FROM interview_conflicts WHERE session_id = ?"
            " ORDER BY received_at, device_id, seq",
            (session_id,),
        ).dicts()
    for answer in answers:
        answer["typed"] = bool(answer["typed"])
    return _shape(rows[0], store.tz) | {"answers": answers, "scores": scores, "conflicts": conflicts}


def score_rows(
    store: HRStore, first: date, last: date, role_id: str | None = None, device_id: str | None = None
) -> list[dict[str, Any]]:
    """One row per competency score of the sessions completed on ``first``..``last`` (for the CSV export),
    oldest first; no transcript, no evidence."""
    where, params = _where(first, last, role_id, device_id, None)
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT s.session_id, s.candidate_id, c.name AS candidate_name, s.role_id, s.device_id, s.completed_ms,"  # noqa: S608
            " s.clock_synced, x.competency, x.score, x.scale_max FROM interview_sessions s"
            " JOIN interview_scores x ON x.session_id = s.session_id"
            " LEFT JOIN candidates c ON c.candidate_id = s.candidate_id"
            + where
            + " ORDER BY s.completed_ms, s.session_id, x.position",
            params,
        ).dicts()
    return [
        r | {"completed_at": _local(int(r["completed_ms"]), store.tz), "clock_synced": bool(r["clock_synced"]),
             "score": float(r["score"])}
        for r in rows
    ]  # fmt: skip


def erase(store: HRStore, session_id: str, actor: str) -> dict[str, Any]:
    """Delete a session's answers, scores, ids and raw record bodies (a candidate's erasure request). The
    session's row stays as a tombstone (session id, booth, seq, digest, times) so a booth resending the
    record later stores nothing again; the audit log keeps who erased which session when."""
    now = store.now_iso()
    with store.db.transaction() as tx:
        row = tx.execute(
            "SELECT device_id, seq FROM interview_sessions WHERE session_id = ? AND erased_at IS NULL", (session_id,)
        ).one()
        if row is None:
            raise NotFound(
                f"There is no interview session {session_id} (or it was erased already).",
                "List sessions with GET /api/interviews.",
            )
        raw = [(str(row[0]), int(row[1]))] + [
            (str(d), int(s))
            for d, s in tx.execute(
                "SELECT device_id, seq FROM interview_conflicts WHERE session_id = ?", (session_id,)
            ).all()
        ]
        for table in ("interview_answers", "interview_scores"):
            tx.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))  # noqa: S608 - fixed names
        tx.execute(
            "UPDATE interview_sessions SET candidate_id = '', consent_id = '', integrity_flags = '[]',"
            " delivery = '{}', erased_at = ? WHERE session_id = ?",
            (now, session_id),
        )
        tx.executemany("UPDATE records SET body = ? WHERE device_id = ? AND seq = ?",
                       [(ERASED_BODY, d, s) for d, s in raw])  # fmt: skip
        audit.record(tx, now, actor, "interview.erase", f"interview:{session_id}", {"records": len(raw)})
    return {"session_id": session_id, "erased": True, "records_blanked": len(raw)}
