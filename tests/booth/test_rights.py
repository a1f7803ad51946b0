"""Candidate rights on the booth: the erase downlink removes a candidate's audio, transcripts, sessions and
list entry (and the words in a queued record); retention deletes old audio and records counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.clock import FakeClock
from device.booth.retention import purge_audio
from device.courier.commands import HANDLERS
from device.store import Store
from sync.protocol import CANDIDATE_ERASURE, EraseBody
from tests.booth.conftest import make_booth
from tests.booth.test_flow import wait_sub


def finished_session(store: Store, tmp_path: Path, answers: Path) -> str:
    booth = make_booth(store, tmp_path, answers)
    booth.check_in("C-100")
    booth.consent("zh-CN")
    booth.start_questions()  # the optional self-report, skipped
    booth.start_answer()
    wait_sub(booth, "review", "refused")
    booth.end_session()
    booth.wait_finished()
    booth.close()
    assert booth.session is not None
    return booth.session.session_id


def test_erase_downlink_deletes_the_candidates_audio_transcripts_and_sessions(store: Store, tmp_path: Path,
                                                                               answers: Path) -> None:
    session_id = finished_session(store, tmp_path, answers)
    audio = list((tmp_path / "audio" / session_id).glob("*.pcm"))
    assert audio
    body = EraseBody(command_seq=5, erasure_id="er-1", employee_nos=["C-100"], reason=CANDIDATE_ERASURE)
    with store.transaction() as conn:
        outcome, detail = HANDLERS[EraseBody](None, conn, body, datetime.now(UTC))  # type: ignore[arg-type]
    assert outcome == "applied" and detail["sessions"] == 1 and detail["audio_files"] == len(audio)
    assert not any(p.exists() for p in audio)
    for table in ("booth_sessions", "booth_answers", "booth_transcript", "booth_candidates"):
        assert store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    queued = json.loads(store.conn.execute("SELECT body FROM outbox").fetchone()[0])
    assert all(a["transcript"] == "" for a in queued["answers"])
    assert all(s["evidence"] == [] for s in queued["scores"])


def test_retention_deletes_old_audio_and_records_counts(store: Store, tmp_path: Path, answers: Path) -> None:
    session_id = finished_session(store, tmp_path, answers)
    audio = list((tmp_path / "audio" / session_id).glob("*.pcm"))
    soon = FakeClock(datetime.now(UTC) + timedelta(days=29))
    assert purge_audio(store, soon, 30).files == 0 and all(p.exists() for p in audio)
    later = FakeClock(datetime.now(UTC) + timedelta(days=31))
    purged = purge_audio(store, later, 30)
    assert purged.sessions == 1 and purged.files == len(audio) and purged.bytes > 0
    assert not any(p.exists() for p in audio)
    transcript = store.conn.execute("SELECT transcript FROM booth_answers").fetchone()[0]
    assert transcript  # the text stays; only the audio goes
    detail = json.loads(store.conn.execute(
        "SELECT detail FROM audit_log WHERE action = 'interview-audio-retention'").fetchone()[0])
    assert detail["files"] == len(audio)
    assert purge_audio(store, later, 30).sessions == 0
