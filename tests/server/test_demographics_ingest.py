"""A booth's ``candidate-demographics`` record at ingest: its answers go to the table HR's entries go to
(source "booth"), never into the raw log; an unknown category refuses the whole message (bad-payload); a
report from a booth that has not yet confirmed an erasure of the candidate predates it and is dropped."""

from __future__ import annotations

import json

import pytest

from sync.protocol import BadPayload, CandidateDemographicsBody, CandidateDemographicsRecord, MessageType, decode_body
from sync.server.store import HRStore, candidate_rights, downlinks, records
from sync.server.store import demographics as demographics_store
from tests.server.builders import BASE_MS, register
from tests.server.review_builders import ingest_sessions, session_body


def report(seq: int, answers: dict[str, str], candidate_id: str = "C-1") -> CandidateDemographicsRecord:
    body = CandidateDemographicsBody(candidate_id=candidate_id, session_id=f"S-{seq}", reported_ms=BASE_MS,
                                     answers=answers)  # fmt: skip
    return CandidateDemographicsRecord(seq=seq, ref=f"S-{seq}", created_at_ms=BASE_MS, clock_synced=True,
                                       type="candidate-demographics", body=body)  # fmt: skip


def test_answers_go_to_the_apart_table_and_the_raw_log_keeps_none(store: HRStore) -> None:
    register(store, "booth-1")
    result = records.ingest(store, "booth-1", [report(1, {"sex": "female", "age_band": "prefer-not-to-say"})])
    assert result.stored == [1]
    held = demographics_store.of(store, "C-1")
    assert held["answers"] == {"age_band": "prefer-not-to-say", "sex": "female"}
    assert {r["source"] for r in held["rows"]} == {"booth"}
    with store.db.read() as tx:
        raw = json.loads(tx.execute("SELECT body FROM records WHERE seq = 1").scalar())
        detail = tx.execute("SELECT detail FROM audit_log WHERE action = 'demographics.record'").scalar()
    assert raw["answers"] == {} and raw["candidate_id"] == "C-1" and "female" not in detail
    again = records.ingest(store, "booth-1", [report(1, {"sex": "female", "age_band": "prefer-not-to-say"})])
    assert again.duplicates == [1]  # the digest is of the body as it travelled
    records.ingest(store, "booth-1", [report(2, {"sex": "other"})])  # a later report replaces that dimension
    assert demographics_store.of(store, "C-1")["answers"] == {"age_band": "prefer-not-to-say", "sex": "other"}


def test_an_unknown_category_refuses_the_message() -> None:
    wire = {"records": [{"seq": 1, "ref": "S-1", "created_at_ms": 1, "clock_synced": True,
                         "type": "candidate-demographics", "body": {"candidate_id": "C-1", "session_id": "S-1",
                                                                    "reported_ms": 1, "answers": {"religion": "x"}}}]}
    with pytest.raises(BadPayload):
        decode_body(MessageType.RECORDS, json.dumps(wire).encode())


def test_a_report_sent_before_the_booth_confirmed_an_erasure_is_dropped(store: HRStore) -> None:
    register(store, "booth-1")
    ingest_sessions(store, "booth-1", [session_body("S-9", "C-1", completed_ms=BASE_MS)], first_seq=1)
    erasure = candidate_rights.erase(store, "C-1", "token:1:hr")
    records.ingest(store, "booth-1", [report(2, {"sex": "male"})])
    assert demographics_store.of(store, "C-1")["answers"] == {}  # it predates the erasure the booth has not applied
    [booth] = erasure["booths"]
    downlinks.confirm(store, "booth-1", [booth["command_seq"]])
    records.ingest(store, "booth-1", [report(3, {"sex": "male"})])  # after the booth erased: a new report
    assert demographics_store.of(store, "C-1")["answers"] == {"sex": "male"}
