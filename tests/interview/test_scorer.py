"""The answer scorer on real text with the real encoders: scores, evidence, no-answer verdicts."""

from __future__ import annotations

import pytest

from device.interview.bank import Rubric, load_bank, shipped_banks
from device.interview.scoring.scorer import (
    RUBRIC_CACHE,
    VERDICT_NO_ANSWER,
    VERDICT_SCORED,
    prepare_bank,
    score_answer,
)
from device.interview.scoring.text import split_sentences
from tests.interview.conftest import needs_e5, needs_minilm

QUESTION = "What is the role of a prototype program in problem solving?"
REFERENCE = "To simulate the behaviour of portions of the desired software product."

pytestmark = needs_minilm


def test_a_good_answer_outscores_an_unrelated_one() -> None:
    rubric = Rubric(reference_answer=REFERENCE)
    good = score_answer(QUESTION, "A prototype simulates how parts of the final software will behave.", rubric, "en")
    bad = score_answer(QUESTION, "Recursion is when a function calls itself until a base case.", rubric, "en")
    assert good.verdict == bad.verdict == VERDICT_SCORED
    assert good.score is not None and bad.score is not None
    assert 0 <= bad.score < good.score <= 5


def test_evidence_points_at_the_answers_own_sentences_and_the_rubrics_text() -> None:
    bank = load_bank(next(p for p in shipped_banks() if p.name == "customer-service-en.toml"))
    question = bank.question("cs-angry-customer")
    answer = (
        "Last year a customer was furious because her order was two weeks late. "
        "I listened to her and apologised for the delay. "
        "I checked the tracking, found the parcel at the depot and arranged a courier the same day. "
        "As a result she kept the order, and I reported the depot problem to my manager."
    )
    result = score_answer(question.text, answer, question.rubric, "en")
    sentences = split_sentences(answer, "en")
    assert [e.sentence for e in result.evidence] == sentences
    rubric_texts = {*question.rubric.key_points, question.rubric.reference_answer.strip(),
                    *question.rubric.anchors.values()}
    for e in result.evidence:
        assert e.sentence in answer
        assert e.best is not None and e.best.text in rubric_texts
        assert -1.0 <= e.best.similarity <= 1.0
    assert {k.key_point for k in result.key_points} == set(question.rubric.key_points)
    assert all(k.sentence in answer for k in result.key_points)
    # The apology sentence is what matches the apology key point.
    apology = next(k for k in result.key_points if k.key_point.startswith("Apologised"))
    assert "apologised" in apology.sentence
    assert set(result.subscores) == {"key_points", "reference", "terms", "anchors", "structure", "specificity"}
    # Situation ("last year"), action ("I listened", "I checked"), result ("as a result"); no task stated.
    assert result.subscores["structure"] == 0.75
    assert {"situation", "action", "result"} <= {part for e in result.evidence for part in e.star}
    assert result.score is not None and result.score > 2.5


@pytest.mark.parametrize("answer", ["", "   ", "\n", "Not answered.", "I don't know", "不知道"])
def test_an_empty_or_declared_non_answer_gets_no_content_score(answer: str) -> None:
    result = score_answer(QUESTION, answer, Rubric(reference_answer=REFERENCE), "en")
    assert result.verdict == VERDICT_NO_ANSWER
    assert result.score is None
    assert result.evidence == []


def test_a_typed_answer_and_a_transcript_take_the_same_path() -> None:
    """A transcript arrives lower-case and unpunctuated; it is split into windows of its own words and
    scored like the typed text, landing close to it."""
    rubric = Rubric(reference_answer=REFERENCE)
    typed = "A prototype simulates how parts of the final software will behave. It lets users try the design early."
    spoken = "a prototype simulates how parts of the final software will behave it lets users try the design early"
    a = score_answer(QUESTION, typed, rubric, "en")
    b = score_answer(QUESTION, spoken, rubric, "en")
    assert a.score is not None and b.score is not None
    assert abs(a.score - b.score) < 1.0
    assert all(e.sentence in spoken for e in b.evidence)
    long_run = " ".join([spoken] * 4)
    c = score_answer(QUESTION, long_run, rubric, "en")
    assert len(c.evidence) > 1 and all(e.sentence in long_run for e in c.evidence)


@needs_e5
def test_chinese_is_scored_by_the_multilingual_encoder_with_evidence() -> None:
    bank = load_bank(next(p for p in shipped_banks() if p.name == "customer-service-zh.toml"))
    question = bank.question("cs-angry-customer")
    good = ("去年有一次，一位客户因为快递晚了两周非常生气。我先耐心听她说完，向她道歉。"
            "我查了物流，发现包裹卡在中转站，于是安排了当天的同城快递。结果客户没有退单，还给了好评。")
    poor = "我觉得客户不讲道理，这是物流部门的问题，我让她自己去找快递公司。"
    g = score_answer(question.text, good, question.rubric, "zh")
    p = score_answer(question.text, poor, question.rubric, "zh")
    assert g.lang == "zh" and "e5" in g.encoder
    assert g.score is not None and p.score is not None and g.score > p.score
    assert all(e.sentence in good for e in g.evidence)
    assert g.subscores["structure"] == 0.75  # 有一次 / 我先 / 结果: situation, action, result


def test_language_is_detected_when_not_given() -> None:
    result = score_answer(QUESTION, "It simulates parts of the software.", Rubric(reference_answer=REFERENCE))
    assert result.lang == "en"


def test_a_prepared_bank_scores_the_same() -> None:
    bank = load_bank(next(p for p in shipped_banks() if p.name == "customer-service-en.toml"))
    q = bank.question("cs-refund-policy")
    answer = "I would explain the policy and offer store credit."
    RUBRIC_CACHE.clear()
    cold = score_answer(q.text, answer, q.rubric, "en", cache_rubric=False)
    prepare_bank(bank)
    warm = score_answer(q.text, answer, q.rubric, "en")
    assert warm.score == cold.score and warm.key_points == cold.key_points
