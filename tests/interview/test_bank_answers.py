"""The shipped sales and software-engineer banks with the real scorer: every question gets a strong and a
weak answer written for this project (tests/interview/bank_answers.toml), the strong one must score above
the weak one on every question and on the bank's mean, and the structured evidence the booth would put in
its interview-result record for them is valid under the protocol's models."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from device.interview.bank import Bank, load_bank, shipped_banks
from device.interview.scoring.record_evidence import answer_fields, competency_fields
from device.interview.scoring.scorer import AnswerScore, prepare_bank, score_answer
from sync.protocol.records import Answer, CompetencyScore
from tests.interview.conftest import needs_e5, needs_minilm

ANSWERS = tomllib.loads((Path(__file__).parent / "bank_answers.toml").read_text("utf-8"))["answer"]
BANKS = ["sales-en", "sales-zh", "software-engineer-en", "software-engineer-zh"]
#: The least the bank's mean strong score must exceed its mean weak score by (scale 0..5).
MEAN_MARGIN = 0.75

pytestmark = needs_minilm


def _bank(bank_id: str) -> Bank:
    return next(b for b in map(load_bank, shipped_banks()) if b.bank_id == bank_id)


@pytest.mark.parametrize("bank_id", [pytest.param(b, marks=needs_e5) if b.endswith("-zh") else b for b in BANKS])
def test_a_strong_answer_outscores_a_weak_one_on_every_question(bank_id: str) -> None:
    bank = _bank(bank_id)
    prepare_bank(bank)
    written = {a["question"]: a for a in ANSWERS if a["bank"] == bank_id}
    assert sorted(written) == sorted(q.id for q in bank.questions)  # every question has its answers
    strong: dict[str, AnswerScore] = {}
    weak: dict[str, AnswerScore] = {}
    for q in bank.questions:
        strong[q.id] = score_answer(q.text, written[q.id]["strong"], q.rubric, bank.lang)
        weak[q.id] = score_answer(q.text, written[q.id]["weak"], q.rubric, bank.lang)
    gaps = {qid: (_score(strong[qid]), _score(weak[qid])) for qid in strong}
    assert all(s > w for s, w in gaps.values()), gaps
    mean = sum(s - w for s, w in gaps.values()) / len(gaps)
    assert mean >= MEAN_MARGIN, gaps
    for qid, result in strong.items():
        assert result.lang == bank.lang and all(e.sentence in written[qid]["strong"] for e in result.evidence)
    # Key points: the strong answers cover more of them, and some on most questions. (Not on every one:
    # in Chinese a narrative sentence and a terse key point sit further apart for the encoder, so a strong
    # zh answer may cover none of a question's points while still scoring above the weak one.)
    assert _mean_sub(strong, "key_points") > _mean_sub(weak, "key_points")
    assert sum(any(k.covered for k in r.key_points) for r in strong.values()) >= len(strong) / 2
    _evidence_fits_the_record(bank, strong)


def _evidence_fits_the_record(bank: Bank, scores: dict[str, AnswerScore]) -> None:
    """What the booth would send: per answer its score and sub-scores, per competency the matches and key
    points naming their questions; all of it accepted by the protocol's models."""
    for qid, result in scores.items():
        answer = Answer.model_validate({"question_id": qid, "transcript": "", "duration_ms": 0,
                                        **answer_fields(bank, qid, result)})  # fmt: skip
        assert answer.score == result.score and answer.subscores and "structure" in answer.subscores
    for comp in bank.competencies:
        fields: dict[str, Any] = competency_fields(bank, comp.id, scores)
        entry = CompetencyScore.model_validate({"competency": comp.id, "score": 3.0, "scale_max": 5,
                                                "evidence": [], **fields})  # fmt: skip
        asked = {q.id for q in bank.questions if q.competency == comp.id}
        assert entry.matches and {m.question_id for m in entry.matches} == asked
        assert entry.key_points and {k.question_id for k in entry.key_points} == asked
        assert all(k.sentence for k in entry.key_points if k.covered)
        assert all(k.sentence is None for k in entry.key_points if not k.covered)


def _mean_sub(scores: dict[str, AnswerScore], name: str) -> float:
    return sum(r.subscores[name] or 0.0 for r in scores.values()) / len(scores)


def _score(result: AnswerScore) -> float:
    assert result.score is not None, result.verdict
    return result.score
