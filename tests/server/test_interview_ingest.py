"""Interview results into the HR store on SQLite and PostgreSQL: once per (device, seq) and once per
session_id; a resend stores nothing twice, a conflicting one is counted and never replaces the first; a
broken body is refused as bad-payload; the webhook event carries no candidate words; erasure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sync.protocol import BadPayload, MessageType, decode_body
from sync.server.store import HRStore, audit, interviews, records, webhook_rows
from tests.server.interview_builders import EVIDENCE, TRANSCRIPT, interview_body, interview_record


def counts(store: HRStore) -> dict[tuple[str, str], int]:
    return {(r["reason"], r["device_id"]): int(r["count"]) for r in records.rejection_counts(store)}


def table_count(store: HRStore, table: str) -> int:
    with store.db.read() as tx:
        return int(tx.execute(f"SELECT count(*) FROM {table}").scalar())


def test_a_result_becomes_a_report_with_transcripts_scores_evidence_and_consent(store: HRStore) -> None:
    result = records.ingest(store, "booth-1", [interview_record(7, session_id="S-1")])
    assert result.stored == [7] and result.duplicates == [] and result.conflicts == []
    report = interviews.report(store, "S-1")
    assert report["device_id"] == "booth-1" and report["seq"] == 7
    assert report["candidate_id"] == "C-1" and report["role_id"] == "backend-dev"
    assert report["consent_id"] == "consent-C-1" and report["clock_synced"] is True
    assert report["completed_at"] == "2026-03-02T10:00:00+08:00"  # the server's time zone
    assert [a["question_id"] for a in report["answers"]] == ["q1", "q2"]
    assert report["answers"][0] == {"question_id": "q1", "transcript": TRANSCRIPT, "duration_ms": 42_000,
                                    "typed": False}  # fmt: skip
    assert report["answers"][1]["typed"] is True
    assert report["scores"][0] == {"competency": "ownership", "score": 4.0, "scale_max": 5, "evidence": [EVIDENCE]}
    assert report["delivery"] == {"words_per_minute": 128.0} and report["conflicts"] == []
    listed = interviews.list_sessions(store)
    assert [s["session_id"] for s in listed] == ["S-1"]
    assert "answers" not in listed[0] and "evidence" not in listed[0]["scores"][0]


def test_a_resend_or_a_second_record_of_the_same_session_stores_nothing_twice(store: HRStore) -> None:
    records.ingest(store, "booth-1", [interview_record(1, session_id="S-1")])
    again = records.ingest(store, "booth-1", [interview_record(1, session_id="S-1")])  # lost ack: same (device, seq)
    assert again.duplicates == [1] and again.stored == []
    # The booth queued the same session twice (a retry after a crash): acknowledged, counted, stored once.
    twice = records.ingest(store, "booth-1", [interview_record(2, session_id="S-1"),
                                              interview_record(3, session_id="S-1")])
    assert twice.ackable == [2, 3] and twice.conflicts == []
    assert table_count(store, "interview_sessions") == 1
    assert table_count(store, "interview_answers") == 2 and table_count(store, "interview_scores") == 2
    assert counts(store) == {("duplicate", "booth-1"): 2}
    assert interviews.report(store, "S-1")["seq"] == 1


def test_another_body_for_a_stored_session_is_counted_as_replay_and_never_replaces_it(store: HRStore) -> None:
    records.ingest(store, "booth-1", [interview_record(1, session_id="S-1", score=4.0)])
    changed = records.ingest(store, "booth-1", [interview_record(2, session_id="S-1", score=1.0)])
    # The same body from another booth:
    stolen = records.ingest(store, "booth-2", [interview_record(1, session_id="S-1", score=4.0)])
    assert changed.ackable == [2] and stolen.ackable == [1]  # kept for the operator, so the outbox drains
    assert counts(store) == {("replay", "booth-1"): 1, ("replay", "booth-2"): 1}
    report = interviews.report(store, "S-1")
    assert report["scores"][0]["score"] == 4.0 and report["device_id"] == "booth-1"
    assert [(c["device_id"], c["seq"]) for c in report["conflicts"]] == [("booth-1", 2), ("booth-2", 1)]
    assert table_count(store, "interview_sessions") == 1 and table_count(store, "interview_answers") == 2
    # Counted once per record: the booths resending their records (lost acks) count nothing more.
    records.ingest(store, "booth-1", [interview_record(2, session_id="S-1", score=1.0)])
    assert counts(store)[("replay", "booth-1")] == 1


def test_a_body_the_protocol_refuses_is_bad_payload_and_never_reaches_the_store() -> None:
    # The store takes typed records only: a records message carrying any of these is refused whole when it is
    # opened (the ingest worker counts it as bad-payload), so nothing of it is stored.
    over_scale = interview_body("S-9") | {"scores": [{"competency": "x", "score": 6.0, "scale_max": 5,
                                                      "evidence": []}]}  # fmt: skip
    no_consent = {k: v for k, v in interview_body("S-8").items() if k != "consent_id"}
    emotion = interview_body("S-7") | {"emotion": "nervous"}  # unknown fields are refused, not stored
    good = interview_record(1).model_dump(mode="json")
    for body in (over_scale, no_consent, emotion):
        with pytest.raises(BadPayload, match="records.0.interview-result.body"):
            decode_body(MessageType.RECORDS, json.dumps({"records": [good | {"body": body}]}).encode())
    assert decode_body(MessageType.RECORDS, json.dumps({"records": [good]}).encode())


def test_the_webhook_event_carries_ids_and_scores_but_no_words_of_the_candidate(store: HRStore) -> None:
    webhook_rows.create(store, url="https://hr.example/hook", secret="s" * 20, events=["interview.completed"],
                        actor="t")  # fmt: skip
    records.ingest(store, "booth-1", [interview_record(1, session_id="S-1")])
    records.ingest(store, "booth-1", [interview_record(2, session_id="S-1")])  # a duplicate queues nothing more
    with store.db.read() as tx:
        bodies = [str(r[0]) for r in tx.execute("SELECT body FROM webhook_deliveries").all()]
    assert len(bodies) == 1
    event: dict[str, Any] = json.loads(bodies[0])
    assert event["event"] == "interview.completed"
    assert event["data"]["session_id"] == "S-1" and event["data"]["candidate_id"] == "C-1"
    assert event["data"]["scores"] == [{"competency": "ownership", "score": 4.0, "scale_max": 5},
                                       {"competency": "communication", "score": 3.5, "scale_max": 5}]  # fmt: skip
    assert TRANSCRIPT not in bodies[0] and EVIDENCE not in bodies[0] and "transcript" not in bodies[0]


def test_erasure_removes_the_words_keeps_a_tombstone_and_a_late_resend_brings_nothing_back(store: HRStore) -> None:
    records.ingest(store, "booth-1", [interview_record(1, session_id="S-1"), interview_record(2, session_id="S-2")])
    records.ingest(store, "booth-1", [interview_record(3, session_id="S-1", score=2.0)])  # a conflict, kept as a record
    assert interviews.erase(store, "S-1", "token:1")["records_blanked"] == 2
    assert [s["session_id"] for s in interviews.list_sessions(store)] == ["S-2"]
    with store.db.read() as tx:
        kept = tx.execute("SELECT body FROM records WHERE device_id = 'booth-1' ORDER BY seq").all()
        answers = tx.execute("SELECT count(*) FROM interview_answers WHERE session_id = 'S-1'").scalar()
    assert [r[0] for r in kept] == [interviews.ERASED_BODY, json.dumps(interview_body("S-2"), sort_keys=True,
                                    separators=(",", ":"), ensure_ascii=False), interviews.ERASED_BODY]  # fmt: skip
    assert answers == 0
    late = records.ingest(store, "booth-1", [interview_record(4, session_id="S-1")])
    assert late.ackable == [4]
    assert [s["session_id"] for s in interviews.list_sessions(store)] == ["S-2"]
    with store.db.read() as tx:
        assert tx.execute("SELECT body FROM records WHERE seq = 4").scalar() == interviews.ERASED_BODY
    assert audit.entries(store, "interview:S-1")[0]["action"] == "interview.erase"
