"""A booth session's structured evidence end to end: the booth (real store, WAV replay, the real scorer)
queues its interview-result, the courier's own row-to-record step carries it in a records message (as JSON
on the wire), the HR store ingests it, and HR's review page shows, per answer, a matched sentence with
what it matched and a named sub-score, in English and in Chinese. A record without the structured fields
(the booth before v1.2) still ingests and renders."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from device.courier.records import to_record
from device.store import open_store
from device.store import outbox as booth_outbox
from sync.protocol import InterviewResultRecord, RecordsBody
from sync.server.pages.common import TOKEN_COOKIE
from sync.server.store import HRStore, records
from tests.booth.conftest import JFK, add_candidate, make_booth
from tests.booth.test_flow import wait_sub
from tests.interview.conftest import needs_minilm
from tests.server.builders import bearer, register
from tests.server.interview_builders import interview_record

pytestmark = needs_minilm

TYPED = ("Last month a refund request was stuck between billing and the warehouse. I wrote down the order "
         "details so the customer did not have to repeat them, agreed with the warehouse lead that he owned it "
         "by Friday, told the customer who would call her and when, and checked every day until the refund "
         "was paid on Thursday.")  # fmt: skip
QUEUE = "When the queue grew I served the urgent cases first and asked a colleague to take the simple ones."


def booth_session(tmp_path: Path) -> InterviewResultRecord:
    """One session at a booth: a spoken answer (replayed WAV, fake transcript), then a typed one."""
    answers = tmp_path / "answers"
    answers.mkdir()
    shutil.copy(JFK, answers / "a1.wav")
    store = open_store(tmp_path / "booth.db", check_same_thread=False)
    try:
        add_candidate(store)
        booth = make_booth(store, tmp_path, answers)
        booth.check_in("C-100")
        booth.consent("en")
        booth.start_questions()  # the optional self-report, skipped
        booth.start_answer()
        wait_sub(booth, "review", "refused")
        assert booth.sub == "review", booth.sub
        for typed in ("I don't know.", QUEUE, TYPED):  # refund policy, busy queue, handover (teamwork)
            booth.next_question()
            booth.type_instead()
            booth.submit_typed(typed)
        booth.end_session()
        booth.wait_finished()
        booth.close()
        [row] = booth_outbox.pending(store, 10)
    finally:
        store.close()
    record = to_record(row)  # what the courier publishes for the row
    assert isinstance(record, InterviewResultRecord)
    return record


def test_structured_evidence_reaches_the_review_page(tmp_path: Path, client: TestClient, store: HRStore) -> None:
    record = booth_session(tmp_path)
    body = record.body
    spoken, unanswered, typed = body.answers[0], body.answers[1], body.answers[-1]
    assert (spoken.competency, spoken.verdict) == ("customer-focus", "scored") and spoken.score is not None
    assert (unanswered.verdict, unanswered.score, unanswered.subscores) == ("no-answer", None, None)
    assert typed.typed and typed.question_id == "cs-handover" and typed.subscores
    assert {"key_points", "anchors", "structure", "specificity"} <= set(typed.subscores)
    teamwork = next(s for s in body.scores if s.competency == "teamwork")
    assert teamwork.matches and all(m.question_id == "cs-handover" for m in teamwork.matches)
    assert teamwork.key_points and any(k.covered for k in teamwork.key_points)
    assert teamwork.subscores == typed.subscores  # one answer: the competency's means are its own
    assert all("words_per_min" not in (a.subscores or {}) for a in body.answers)  # delivery stays apart

    # The wire: a records message as JSON, read back by the server's model, ingested by the HR store.
    wire = RecordsBody(records=[record]).model_dump_json()
    register(store, "booth-1")
    result = records.ingest(store, "booth-1", RecordsBody.model_validate_json(wire).records)
    assert len(result.stored) == 1

    client.cookies.set(TOKEN_COOKIE, bearer(store, "reviewer")["Authorization"].removeprefix("Bearer "))
    page = client.get(f"/interviews/{body.session_id}?lang=en")
    assert page.status_code == 200, page.text
    handover = _article(page.text, "cs-handover")
    sentence = teamwork.matches[0].sentence
    assert sentence in handover.replace("&#39;", "'")
    assert re.search(r"(anchor \d|key point|reference answer)", handover)
    assert "structure (STAR)" in handover and "key-point coverage" in handover and "Content score" in handover
    assert "✓" in handover  # a covered key point with its sentence
    assert "no content score" in _article(page.text, "cs-refund-policy")  # said so, never a zero
    zh = client.get(f"/interviews/{body.session_id}?lang=zh-CN").text
    assert "结构（STAR）" in _article(zh, "cs-handover") and "内容得分" in zh

    api = client.get(f"/api/review/interviews/{body.session_id}", headers=bearer(store, "reviewer")).json()
    [answer] = [a for a in api["answers"] if a["question_id"] == "cs-handover"]
    assert answer["evidence"]["matches"] and answer["evidence"]["subscores"]["structure"] >= 0
    assert answer["evidence"]["scale_max"] == 5
    # The booth's own overall (weight 0) is not weighed in as one more competency, nor drawn, nor overridable.
    booth_overall = next(s for s in body.scores if s.competency == "overall")
    assert booth_overall.weight == 0.0
    competencies = [s for s in body.scores if s.competency != "overall"]
    assert [s["competency"] for s in api["scores"]] == [s.competency for s in competencies]
    weighted = sum((s.weight or 0.0) * s.score / 5 for s in competencies) / sum(s.weight or 0.0 for s in competencies)
    assert api["overall"] == round(100 * weighted, 2)
    assert abs(api["overall"] - 20 * booth_overall.score) < 0.5  # the same reading on a 0..100 scale


def test_a_record_without_structured_fields_still_ingests_and_renders(client: TestClient, store: HRStore) -> None:
    register(store, "booth-1")
    old = interview_record(1)  # evidence lines only, as booths sent before v1.2
    assert records.ingest(store, "booth-1", [old]).stored
    client.cookies.set(TOKEN_COOKIE, bearer(store, "reviewer")["Authorization"].removeprefix("Bearer "))
    page = client.get("/interviews/S-1?lang=en")
    assert page.status_code == 200
    assert "wrote the rollback plan myself" in page.text and "Content score" not in page.text
    api = client.get("/api/review/interviews/S-1", headers=bearer(store, "reviewer")).json()
    assert api["answers"][0]["evidence"]["matches"] == [] and api["answers"][0]["evidence"]["score"] is None


def _article(html: str, question_id: str) -> str:
    start = html.index(f'id="answer-{question_id}"')
    return html[start: html.index("</article>", start)]

