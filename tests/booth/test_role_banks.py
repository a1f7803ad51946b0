"""The sales and software-engineer banks at a booth: a candidate HR scheduled with one of them checks in,
answers every question (typed, in the bank's language), and the session's interview-result carries every
competency of the role, the weighted overall and the structured evidence per answer."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from device.store import Store
from device.store import candidates as booth_candidates
from device.store.candidates import BoothCandidate
from sync.protocol.records import InterviewResultBody
from tests.booth.conftest import make_booth
from tests.interview.conftest import needs_e5, needs_minilm

ANSWERS = tomllib.loads((Path(__file__).parents[1] / "interview" / "bank_answers.toml").read_text("utf-8"))["answer"]

pytestmark = needs_minilm


def schedule(store: Store, candidate_id: str, role: str, bank_id: str) -> None:
    until = int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)
    with store.transaction() as conn:
        booth_candidates.replace(conn, [BoothCandidate(candidate_id, "Wang Fang", role, bank_id, until)],
                                 command_seq=2, at_ms=0)


@pytest.mark.parametrize("bank_id", ["sales-en", pytest.param("software-engineer-zh", marks=needs_e5)])
def test_a_role_bank_runs_at_the_booth_and_its_record_carries_every_competency(
    store: Store, tmp_path: Path, answers: Path, bank_id: str
) -> None:
    role = bank_id.rsplit("-", 1)[0]
    schedule(store, "C-200", role, bank_id)
    booth = make_booth(store, tmp_path, answers)
    bank = booth.shelf.get(bank_id)
    assert bank is not None and bank.role_id == role
    booth.check_in("C-200")
    booth.consent(bank.lang)
    booth.start_questions()  # the optional self-report, skipped
    strong = {a["question"]: a["strong"] for a in ANSWERS if a["bank"] == bank_id}
    for i, question in enumerate(bank.questions):
        assert booth.question.id == question.id
        booth.type_instead()
        booth.submit_typed(strong[question.id])
        if i + 1 < len(bank.questions):
            booth.next_question()
    booth.end_session()
    booth.wait_finished(300)
    booth.close()
    [(body_text,)] = store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result'").fetchall()
    body = InterviewResultBody.model_validate(json.loads(body_text))
    assert body.role_id == role
    assert [a.question_id for a in body.answers] == [q.id for q in bank.questions]
    assert all(a.verdict == "scored" and a.score is not None and a.competency for a in body.answers)
    scored = {s.competency: s for s in body.scores}
    assert set(scored) == {c.id for c in bank.competencies} | {"overall"}
    for comp in bank.competencies:
        entry = scored[comp.id]
        assert entry.weight == comp.weight and entry.matches and entry.key_points and entry.subscores
