"""Abandoned sessions: the real flow on a real store with a clock the test moves; a candidate who stops giving
input for booth.idle_timeout_seconds is taken for gone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from core.clock import FakeClock
from device.booth.flow import Booth
from device.config.booth import BoothSection
from device.store import Store
from tests.booth.conftest import make_booth
from tests.booth.test_flow import counts, wait_sub

IDLE = 60


def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC), mono_ns=1_000_000_000)


def booth_at(store: Store, tmp_path: Path, answers: Path, fake: FakeClock) -> Booth:
    return make_booth(store, tmp_path, answers, settings=BoothSection(idle_timeout_seconds=IDLE), clock=fake)


def results(store: Store) -> list[dict[str, object]]:
    rows = store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result' ORDER BY seq").fetchall()
    return [json.loads(r[0]) for r in rows]


def close_reason(store: Store, session_id: str) -> tuple[str, str]:
    row = store.conn.execute("SELECT status, close_reason FROM booth_sessions WHERE session_id = ?",
                             (session_id,)).fetchone()
    return str(row[0]), str(row[1])


def test_a_candidate_who_walks_away_after_one_answer_is_sent_with_that_answer(store: Store, tmp_path: Path,
                                                                               answers: Path) -> None:
    fake = clock()
    booth = booth_at(store, tmp_path, answers, fake)
    booth.check_in("C-100")
    booth.consent("en")
    booth.start_questions()  # the optional self-report, skipped
    session = booth.session
    assert session is not None
    booth.start_answer()
    wait_sub(booth, "review", "refused")
    assert booth.sub == "review"
    fake.advance(IDLE - 1)
    booth.tick()
    assert booth.phase == "question", "the wait is not over yet"
    fake.advance(2)
    booth.tick()
    booth.wait_finished()
    booth.tick()
    assert booth.phase == "welcome" and booth.session is None  # straight back to check-in
    booth.close()
    [body] = results(store)
    assert body["integrity_flags"] == ["session-abandoned"]
    assert [a["question_id"] for a in body["answers"]] == [booth.shelf.get("customer-service-en")
                                                           .questions[0].id]  # type: ignore[union-attr, index]
    assert close_reason(store, session.session_id) == ("completed", "abandoned")


def test_a_step_restarts_the_wait_and_typing_time_is_not_idleness(store: Store, tmp_path: Path,
                                                                  answers: Path) -> None:
    fake = clock()
    booth = booth_at(store, tmp_path, answers, fake)
    booth.check_in("C-100")
    fake.advance(IDLE - 5)
    booth.consent("en")  # input: the wait starts again
    fake.advance(IDLE - 5)
    booth.start_questions()  # the optional self-report, skipped
    booth.type_instead()
    limit = booth.question.answer_seconds
    assert limit > IDLE  # the shipped bank gives more time to answer than this test's idle timeout
    fake.advance(limit - 1)
    booth.tick()
    assert booth.phase == "question" and booth.sub == "typing", "a slow typist is not gone"
    fake.advance(IDLE + 1)
    booth.tick()
    booth.wait_finished()
    booth.close()
    [body] = results(store)
    assert body["answers"] == [] and body["integrity_flags"] == ["session-abandoned"]


def test_a_candidate_who_never_consents_leaves_nothing(store: Store, tmp_path: Path, answers: Path) -> None:
    fake = clock()
    booth = booth_at(store, tmp_path, answers, fake)
    before = counts(store)
    booth.check_in("C-100")
    fake.advance(IDLE)
    booth.tick()
    assert booth.phase == "welcome" and booth.pending is None
    assert counts(store) == before


def test_an_interrupted_session_nobody_resumes_is_closed_as_abandoned(store: Store, tmp_path: Path,
                                                                      answers: Path) -> None:
    fake = clock()
    first = booth_at(store, tmp_path, answers, fake)
    first.check_in("C-100")
    first.consent("en")
    first.start_questions()
    first.type_instead()
    first.submit_typed("I listened, checked the order and called the customer back the same afternoon.")
    first.close()  # the booth restarts here (power cut): the session is open with one answer
    assert results(store) == []
    fake.advance(5)
    booth = booth_at(store, tmp_path, answers, fake)
    booth.recover()
    assert booth.phase == "resume"
    fake.advance(IDLE)
    booth.tick()
    booth.wait_finished()
    booth.close()
    [body] = results(store)
    assert body["integrity_flags"] == ["session-interrupted", "session-abandoned"]
    assert len(body["answers"]) == 1  # type: ignore[arg-type]


def test_a_candidate_who_leaves_at_the_self_report_is_closed_with_no_answers(store: Store, tmp_path: Path,
                                                                             answers: Path) -> None:
    fake = clock()
    booth = make_booth(store, tmp_path, answers, clock=fake,
                       settings=BoothSection(idle_timeout_seconds=IDLE, self_report=True))
    booth.check_in("C-100")
    booth.consent("en")
    assert booth.phase == "demographics"
    fake.advance(IDLE)
    booth.tick()
    booth.wait_finished()
    booth.close()
    [body] = results(store)
    assert body["answers"] == [] and body["integrity_flags"] == ["session-abandoned"]


def test_the_idle_timeout_is_validated() -> None:
    import pytest
    from pydantic import ValidationError

    assert BoothSection().idle_timeout_seconds == 300
    with pytest.raises(ValidationError):
        BoothSection(idle_timeout_seconds=5)


def test_the_booth_keeps_one_languages_recogniser_loaded() -> None:
    """Both recognisers together pass the booth's memory budget: a session in the other language drops the
    first before its own loads (bench: edgehr bench interview --booth-memory)."""
    import gc
    import weakref

    from device.booth.parts import EngineCache
    from device.config.booth import AsrSection

    cache = EngineCache(AsrSection(engine_en="fake", engine_zh="fake"))
    english = cache.get("en")
    assert cache.get("en") is english
    gone = weakref.ref(english)
    del english
    chinese = cache.get("zh")
    gc.collect()
    assert gone() is None and chinese.language == "zh"
