"""Interview booth sessions: consent, answer attempts, partial transcripts, completion, erasure, retention.

A session row is written only when the candidate consents (a refusal leaves nothing). Answers are
attempts: an attempt is ``recording`` while audio arrives, then ``done`` (transcript or typed text),
``refused`` (bad audio: the reason is kept, never a score) or ``lost`` (the booth stopped mid-answer).
``complete`` marks a session completed and queues its ``interview-result`` in ONE transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from device.store import audit, outbox
from device.store.database import Store
from sync.protocol import InterviewResultBody

ACTOR = "booth"


@dataclass(frozen=True)
class NewSession:
    session_id: str
    candidate_id: str
    candidate_name: str
    role_id: str
    bank_id: str
    lang: str
    walk_in: bool
    consent_id: str
    consent_text_version: str
    consent_language: str
    at_ms: int


@dataclass(frozen=True)
class SessionRow(NewSession):
    status: str = "open"
    question_index: int = 0
    updated_at_ms: int = 0
    integrity: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AnswerRow:
    id: int
    question_id: str
    attempt: int
    status: str
    typed: bool
    audio_path: str | None
    transcript: str
    duration_ms: int
    error_code: str | None
    source_rate: int | None


_SESSION_COLUMNS = ("session_id, candidate_id, candidate_name, role_id, bank_id, lang, walk_in, consent_id,"
                    " consent_text_version, consent_language, started_at_ms, status, question_index, updated_at_ms,"
                    " integrity")


def open_session(store: Store, new: NewSession, *, at: datetime) -> None:
    """The candidate consented: the session starts, with the consent's id and notice text version."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO booth_sessions (session_id, candidate_id, candidate_name, role_id, bank_id, lang, walk_in,"
            " consent_id, consent_text_version, consent_language, consented_at_ms, status, started_at_ms,"
            " updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
            (new.session_id, new.candidate_id, new.candidate_name, new.role_id, new.bank_id, new.lang,
             int(new.walk_in), new.consent_id, new.consent_text_version, new.consent_language, new.at_ms,
             new.at_ms, new.at_ms),
        )
        audit.record(conn, at=at, actor=ACTOR, action="interview-consent", subject=new.candidate_id,
                     detail={"session_id": new.session_id, "consent_id": new.consent_id,
                             "text_version": new.consent_text_version, "language": new.consent_language})


def _session(row: tuple[Any, ...]) -> SessionRow:
    (sid, cid, name, role, bank, lang, walk_in, consent, version, language, started, status, index, updated,
     integrity) = row
    return SessionRow(str(sid), str(cid), str(name), str(role), str(bank), str(lang), bool(walk_in), str(consent),
                      str(version), str(language), int(started), str(status), int(index), int(updated),
                      json.loads(str(integrity)))


def get(store: Store, session_id: str) -> SessionRow | None:
    row = store.conn.execute(f"SELECT {_SESSION_COLUMNS} FROM booth_sessions WHERE session_id = ?",  # noqa: S608
                             (session_id,)).fetchone()
    return _session(row) if row else None


def has_completed(store: Store, candidate_id: str) -> bool:
    row = store.conn.execute("SELECT 1 FROM booth_sessions WHERE candidate_id = ? AND status = 'completed'",
                             (candidate_id,)).fetchone()
    return row is not None


def open_sessions(store: Store) -> list[SessionRow]:
    rows = store.conn.execute(
        f"SELECT {_SESSION_COLUMNS} FROM booth_sessions WHERE status = 'open' ORDER BY updated_at_ms DESC"  # noqa: S608
    ).fetchall()
    return [_session(r) for r in rows]


def set_progress(store: Store, session_id: str, question_index: int, at_ms: int,
                 integrity: dict[str, int] | None = None) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE booth_sessions SET question_index = ?, updated_at_ms = ? WHERE session_id = ?",
                     (question_index, at_ms, session_id))
        if integrity is not None:
            conn.execute("UPDATE booth_sessions SET integrity = ? WHERE session_id = ?",
                         (json.dumps(integrity, sort_keys=True), session_id))


def begin_answer(store: Store, session_id: str, question_id: str, *, typed: bool, audio_folder: Path | None,
                 at_ms: int) -> tuple[int, int, Path | None]:
    """A new attempt at ``question_id``: (answer id, attempt number from 1, its audio file in ``audio_folder``)."""
    with store.transaction() as conn:
        attempt = int(conn.execute(
            "SELECT coalesce(max(attempt), 0) + 1 FROM booth_answers WHERE session_id = ? AND question_id = ?",
            (session_id, question_id)).fetchone()[0])
        audio_path = audio_folder / f"{question_id}-{attempt}.pcm" if audio_folder is not None else None
        cursor = conn.execute(
            "INSERT INTO booth_answers (session_id, question_id, attempt, status, typed, audio_path, started_at_ms)"
            " VALUES (?, ?, ?, 'recording', ?, ?, ?)",
            (session_id, question_id, attempt, int(typed), str(audio_path) if audio_path else None, at_ms),
        )
        conn.execute("UPDATE booth_sessions SET updated_at_ms = ? WHERE session_id = ?", (at_ms, session_id))
    assert cursor.lastrowid is not None
    return cursor.lastrowid, attempt, audio_path


def add_partial(store: Store, answer_id: int, *, text: str, audio_ms: int, audio_bytes: int, at_ms: int) -> None:
    """A partial transcript (and how much audio is on disk) as it arrives."""
    with store.transaction() as conn:
        conn.execute("INSERT INTO booth_transcript (answer_id, at_ms, audio_ms, text) VALUES (?, ?, ?, ?)",
                     (answer_id, at_ms, audio_ms, text))
        conn.execute("UPDATE booth_answers SET audio_bytes = ?, transcript = ?, duration_ms = ? WHERE id = ?",
                     (audio_bytes, text, audio_ms, answer_id))


def finish_answer(store: Store, answer_id: int, *, status: str, transcript: str, duration_ms: int, at_ms: int,
                  error_code: str | None = None, warnings: list[str] | None = None,
                  source_rate: int | None = None, audio_bytes: int | None = None) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE booth_answers SET status = ?, transcript = ?, duration_ms = ?, ended_at_ms = ?, error_code = ?,"
            " warnings = ?, source_rate = ?, audio_bytes = coalesce(?, audio_bytes) WHERE id = ?",
            (status, transcript, duration_ms, at_ms, error_code, json.dumps(warnings or []), source_rate,
             audio_bytes, answer_id),
        )


def answers(store: Store, session_id: str) -> list[AnswerRow]:
    rows = store.conn.execute(
        "SELECT id, question_id, attempt, status, typed, audio_path, transcript, duration_ms, error_code, source_rate"
        " FROM booth_answers WHERE session_id = ? ORDER BY id", (session_id,)).fetchall()
    return [AnswerRow(int(r[0]), str(r[1]), int(r[2]), str(r[3]), bool(r[4]), r[5], str(r[6]), int(r[7]), r[8],
                      r[9]) for r in rows]


def lose_recordings(store: Store, session_id: str, at_ms: int) -> list[str]:
    """Attempts still ``recording`` after a restart become ``lost``; returns their audio files (to delete)."""
    with store.transaction() as conn:
        rows = conn.execute("SELECT id, audio_path FROM booth_answers WHERE session_id = ? AND status = 'recording'",
                            (session_id,)).fetchall()
        conn.execute("UPDATE booth_answers SET status = 'lost', ended_at_ms = ?, error_code = 'interrupted'"
                     " WHERE session_id = ? AND status = 'recording'", (at_ms, session_id))
    return [str(p) for _, p in rows if p]


def complete(store: Store, session_id: str, body: InterviewResultBody, *, reason: str, at: datetime) -> int:
    """Mark the session completed and queue its interview-result, in one transaction; the outbox seq."""
    with store.transaction() as conn:
        changed = conn.execute(
            "UPDATE booth_sessions SET status = 'completed', completed_at_ms = ?, updated_at_ms = ?, close_reason = ?"
            " WHERE session_id = ? AND status = 'open'",
            (body.completed_ms, body.completed_ms, reason, session_id),
        ).rowcount
        if not changed:
            row = conn.execute("SELECT outbox_seq FROM booth_sessions WHERE session_id = ?", (session_id,)).fetchone()
            return int(row[0]) if row and row[0] is not None else 0
        seq = outbox.enqueue(conn, session_id, body, created_at_ms=body.completed_ms, clock_synced=body.clock_synced)
        conn.execute("UPDATE booth_sessions SET outbox_seq = ? WHERE session_id = ?", (seq, session_id))
        audit.record(conn, at=at, actor=ACTOR, action="interview-completed", subject=body.candidate_id,
                     detail={"session_id": session_id, "reason": reason, "seq": seq, "answers": len(body.answers)})
    return seq
