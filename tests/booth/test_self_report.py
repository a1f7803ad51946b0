"""The booth's optional demographic self-report: after consent, skippable, each question with "prefer not to
say"; the answers go out as their own record (never into the session rows or the result the scorer makes),
are emptied once the server acknowledged them, and a candidate's erasure empties them at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from device.booth import demographics
from device.booth.flow import BoothRefused
from device.config.booth import BoothSection
from device.courier.commands import HANDLERS
from device.store import Store, outbox
from sync.protocol import CANDIDATE_ERASURE, EraseBody
from tests.booth.conftest import make_booth


def reports(store: Store) -> list[dict[str, object]]:
    rows = store.conn.execute("SELECT body FROM outbox WHERE type = 'candidate-demographics' ORDER BY seq")
    return [json.loads(r[0]) for r in rows]


def test_answers_become_their_own_record_and_never_reach_the_session(store: Store, tmp_path: Path,
                                                                      answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers)
    booth.check_in("C-100")
    booth.consent("en")
    assert booth.phase == "demographics" and booth.session is not None
    demographics.submit(booth, {"sex": "female", "ethnicity": "prefer-not-to-say", "age_band": ""})
    assert booth.phase == "question" and booth.sub == "prepare"
    [report] = reports(store)
    assert report["answers"] == {"sex": "female", "ethnicity": "prefer-not-to-say"}  # "" = skipped
    assert report["candidate_id"] == "C-100" and report["session_id"] == booth.session.session_id
    audit = store.conn.execute("SELECT detail FROM audit_log WHERE action = 'interview-self-report'").fetchone()
    assert json.loads(audit[0])["dimensions"] == ["ethnicity", "sex"] and "female" not in audit[0]
    booth.type_instead()
    booth.submit_typed("I listened to the customer and fixed the order the same day.")
    booth.end_session()
    booth.wait_finished()
    booth.close()
    result = store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result'").fetchone()[0]
    session = store.conn.execute("SELECT * FROM booth_sessions").fetchone()
    assert "female" not in result and "female" not in json.dumps(session)


def test_skipping_writes_nothing_and_an_unknown_category_is_refused(store: Store, tmp_path: Path,
                                                                    answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers)
    booth.check_in("C-100")
    booth.consent("zh-CN")
    with pytest.raises(BoothRefused) as refused:
        demographics.submit(booth, {"sex": "female", "religion": "none"})
    assert refused.value.code == "bad-answer" and booth.phase == "demographics" and reports(store) == []
    demographics.submit(booth, {})
    assert booth.phase == "question" and reports(store) == []
    with pytest.raises(BoothRefused):
        demographics.submit(booth, {"sex": "male"})  # the step is over
    booth.close()


def test_a_booth_configured_without_the_form_goes_straight_to_the_questions(store: Store, tmp_path: Path,
                                                                            answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers, settings=BoothSection(self_report=False))
    booth.check_in("C-100")
    booth.consent("en")
    assert booth.phase == "question"
    booth.close()


def test_answers_are_emptied_on_the_servers_ack_and_by_an_erasure(store: Store, tmp_path: Path,
                                                                 answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers)
    booth.check_in("C-100")
    booth.consent("en")
    demographics.submit(booth, {"age_band": "30-39"})
    booth.close()
    [seq] = [r.seq for r in outbox.pending(store, 10) if r.type == "candidate-demographics"]
    assert outbox.mark_delivered(store, [seq], 1) == 1
    assert reports(store)[0]["answers"] == {}  # gone from the booth once the server stored it
    assert reports(store)[0]["candidate_id"] == "C-100"  # the row keeps its place in the record stream

    from device.store import booth_demographics

    booth_demographics.record(store, session_id="s-2", candidate_id="C-100", answers={"sex": "other"},
                              at=datetime.now(UTC), clock_synced=True)  # fmt: skip
    body = EraseBody(command_seq=9, erasure_id="er-9", employee_nos=["C-100"], reason=CANDIDATE_ERASURE)
    with store.transaction() as conn:
        outcome, detail = HANDLERS[EraseBody](None, conn, body, datetime.now(UTC))  # type: ignore[arg-type]
    assert outcome == "applied" and detail["self_reports"] == 1
    assert [r["answers"] for r in reports(store)] == [{}, {}]
