"""A booth's side of candidate rights: erasure on request (the ``erase`` downlink) and retention (audio, then
transcripts and scores).

Erasure deletes the candidate's sessions, answers and transcripts (rows) and returns the audio files to
unlink, drops them from the booth's candidate list and their registered-photo templates, empties their
self-reported demographics, and redacts the
candidate's words from any ``interview-result`` outbox row (transcripts and evidence emptied; the row keeps its
sequence so the record stream stays whole, and the server, which erased first, keeps the session id taken).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from device.store import booth_demographics, candidate_templates
from device.store.database import Store


@dataclass(frozen=True)
class Erased:
    sessions: int
    answers: int
    audio_files: list[str]
    outbox_redacted: int
    listed: int
    self_reports: int = 0
    templates: int = 0


def erase_candidate(conn: sqlite3.Connection, candidate_id: str) -> Erased:
    """Inside the caller's transaction: everything the booth holds of ``candidate_id``."""
    sessions = [str(r[0]) for r in conn.execute("SELECT session_id FROM booth_sessions WHERE candidate_id = ?",
                                                 (candidate_id,))]
    files: list[str] = []
    answers = 0
    redacted = 0
    for session_id in sessions:
        rows = conn.execute("SELECT audio_path FROM booth_answers WHERE session_id = ?", (session_id,)).fetchall()
        files += [str(r[0]) for r in rows if r[0]]
        answers += len(rows)
        conn.execute("DELETE FROM booth_sessions WHERE session_id = ?", (session_id,))  # answers cascade
        for seq, body in conn.execute(
            "SELECT seq, body FROM outbox WHERE type = 'interview-result' AND ref = ?", (session_id,)
        ).fetchall():
            conn.execute("UPDATE outbox SET body = ? WHERE seq = ?", (redact(str(body)), seq))
            redacted += 1
    listed = conn.execute("DELETE FROM booth_candidates WHERE candidate_id = ?", (candidate_id,)).rowcount
    reports = booth_demographics.erase_in(conn, candidate_id)
    templates = candidate_templates.delete(conn, candidate_id)
    return Erased(len(sessions), answers, files, redacted, int(listed), reports, templates)


def redact(body_json: str) -> str:
    """An interview-result body without the candidate's words (still a valid body)."""
    body = json.loads(body_json)
    for answer in body.get("answers", []):
        answer["transcript"] = ""
    for score in body.get("scores", []):
        score["evidence"] = []
        score.pop("matches", None)
        score.pop("key_points", None)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def audio_due(store: Store, ended_before_ms: int) -> list[tuple[str, list[str]]]:
    """Completed sessions ended before ``ended_before_ms`` whose audio is still kept: (session, files)."""
    rows = store.conn.execute(
        "SELECT s.session_id, a.audio_path FROM booth_sessions s LEFT JOIN booth_answers a"
        " ON a.session_id = s.session_id AND a.audio_path IS NOT NULL"
        " WHERE s.status = 'completed' AND s.audio_purged_at_ms IS NULL AND s.completed_at_ms < ?"
        " ORDER BY s.session_id", (ended_before_ms,)).fetchall()
    out: dict[str, list[str]] = {}
    for session_id, path in rows:
        out.setdefault(str(session_id), [])
        if path:
            out[str(session_id)].append(str(path))
    return list(out.items())


def mark_audio_purged(store: Store, session_ids: list[str], at_ms: int) -> None:
    with store.transaction() as conn:
        for session_id in session_ids:
            conn.execute("UPDATE booth_sessions SET audio_purged_at_ms = ? WHERE session_id = ?", (at_ms, session_id))
            conn.execute("UPDATE booth_answers SET audio_path = NULL WHERE session_id = ?", (session_id,))


def transcripts_due(store: Store, ended_before_ms: int) -> tuple[list[str], int]:
    """Completed sessions ended before ``ended_before_ms``: (those whose interview-result the server has
    acknowledged, so they may go; how many others are held because their result is not acknowledged yet)."""
    rows = store.conn.execute(
        "SELECT s.session_id, o.delivered_at_ms FROM booth_sessions s LEFT JOIN outbox o ON o.seq = s.outbox_seq"
        " WHERE s.status = 'completed' AND s.completed_at_ms < ? ORDER BY s.session_id", (ended_before_ms,)).fetchall()
    return [str(r[0]) for r in rows if r[1] is not None], sum(1 for r in rows if r[1] is None)


def purge_transcripts_in(conn: sqlite3.Connection, session_ids: list[str]) -> tuple[int, list[str]]:
    """Inside the caller's transaction: delete these sessions (answers and partial transcripts cascade) and the
    words and scores of their delivered interview-result rows; returns (answers deleted, audio files to unlink)."""
    answers = 0
    files: list[str] = []
    for session_id in session_ids:
        rows = conn.execute("SELECT audio_path FROM booth_answers WHERE session_id = ?", (session_id,)).fetchall()
        answers += len(rows)
        files += [str(r[0]) for r in rows if r[0]]
        for seq, body in conn.execute(
            "SELECT o.seq, o.body FROM booth_sessions s JOIN outbox o ON o.seq = s.outbox_seq WHERE s.session_id = ?",
            (session_id,),
        ).fetchall():
            conn.execute("UPDATE outbox SET body = ? WHERE seq = ?", (strip(str(body)), seq))
        conn.execute("DELETE FROM booth_sessions WHERE session_id = ?", (session_id,))
    return answers, files


def strip(body_json: str) -> str:
    """A delivered interview-result body without answers, scores or delivery figures (ids and flags stay)."""
    body = json.loads(body_json)
    body["answers"], body["scores"], body["delivery"] = [], [], {}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
