"""The booth's interview flow on a real store, WAV answers replayed, the real scorer at the end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from device.booth.flow import Booth, BoothRefused
from device.store import Store
from tests.booth.conftest import make_booth, speech_like, write_wav


def wait_sub(booth: Booth, *wanted: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with booth.lock:
            if booth.sub in wanted or booth.phase in wanted:
                return
        time.sleep(0.05)
    raise AssertionError(f"booth stayed at {booth.phase}/{booth.sub}, wanted {wanted}")


def counts(store: Store) -> dict[str, int]:
    return {t: int(store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("booth_sessions", "booth_answers", "booth_transcript", "outbox", "audit_log")}


def test_refusing_consent_records_nothing(store: Store, tmp_path: Path, answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers)
    before = counts(store)
    booth.check_in("C-100")
    assert booth.phase == "notice" and booth.pending is not None
    booth.decline()
    assert booth.phase == "welcome" and booth.pending is None
    assert counts(store) == before
    assert not (tmp_path / "audio").exists()


def test_unknown_code_is_refused(store: Store, tmp_path: Path, answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers)
    with pytest.raises(BoothRefused) as refused:
        booth.check_in("NOPE")
    assert refused.value.code == "unknown-code" and booth.phase == "welcome"


def test_a_session_answered_by_voice_and_typing_becomes_one_record(store: Store, tmp_path: Path,
                                                                    answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers)
    booth.check_in("C-100")
    booth.consent("en")
    booth.start_questions()  # the optional self-report, skipped
    session = booth.session
    assert session is not None and booth.sub == "prepare"
    booth.start_answer()  # before the preparation time ends
    wait_sub(booth, "review", "refused")
    assert booth.sub == "review" and booth.take is not None and booth.take.transcript
    assert booth.retakes_left() == 1  # the shipped bank allows one re-record
    booth.start_answer()
    wait_sub(booth, "review", "refused")
    assert booth.retakes_left() == 0
    with pytest.raises(BoothRefused):
        booth.start_answer()
    booth.next_question()
    booth.type_instead()
    booth.submit_typed("I asked a colleague for help and we fixed the billing error together the same day.")
    booth.end_session()
    booth.wait_finished()
    booth.close()
    assert booth.phase == "done"
    rows = store.conn.execute("SELECT type, ref, body FROM outbox").fetchall()
    assert [(t, r) for t, r, _ in rows] == [("interview-result", session.session_id)]
    body = json.loads(rows[0][2])
    assert [a["question_id"] for a in body["answers"]] == [q.id for q in booth.shelf.get("customer-service-en")
                                                             .questions[:2]]  # type: ignore[union-attr]
    assert body["answers"][1]["typed"] is True and body["consent_id"] == session.consent_id
    assert any(s["competency"] == "overall" for s in body["scores"])
    assert all(s["evidence"] for s in body["scores"])
    assert "duration_s" in body["delivery"]  # delivery apart from scores
    status = store.conn.execute("SELECT status, outbox_seq FROM booth_sessions").fetchone()
    assert status == ("completed", 1)
    audio = list((tmp_path / "audio" / session.session_id).glob("*.pcm"))
    assert len(audio) == 2 and all(p.stat().st_size > 0 for p in audio)
    partials = store.conn.execute("SELECT count(*) FROM booth_transcript").fetchone()[0]
    assert partials >= 2  # written as the audio arrived


@pytest.mark.parametrize(("kind", "code"), [
    ("silence", "audio-silent"), ("clipped", "audio-clipped"), ("corrupt", "audio-corrupt"),
    ("not-wav", "audio-format"), ("8khz", None)])
def test_bad_audio_is_refused_with_its_reason(store: Store, tmp_path: Path, kind: str, code: str | None) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    path = folder / "answer.wav"
    if kind == "silence":
        write_wav(path, np.zeros(16000 * 3, np.float32))
    elif kind == "clipped":
        write_wav(path, np.clip(speech_like(level=3.0), -1, 1))
    elif kind == "corrupt":
        write_wav(path, speech_like())
        path.write_bytes(path.read_bytes()[: 20000])  # header promises more than the file holds
    elif kind == "not-wav":
        path.write_bytes(b"this is not audio at all" * 100)
    else:
        write_wav(path, speech_like(rate=8000), rate=8000)
    booth = make_booth(store, tmp_path, folder)
    booth.check_in("C-100")
    booth.consent("en")
    booth.start_questions()  # the optional self-report, skipped
    booth.start_answer()
    wait_sub(booth, "review", "refused")
    booth.close()
    assert booth.take is not None
    if code is None:  # 8 kHz: transcribed, with the warning shown
        assert booth.sub == "review" and any(w.startswith("low-rate") for w in booth.take.warnings)
    else:
        assert booth.sub == "refused" and booth.take.error_code == code
        row = store.conn.execute("SELECT status, error_code FROM booth_answers").fetchone()
        assert row == ("refused", code)
