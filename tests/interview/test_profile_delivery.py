"""A candidate's profile fits the existing interview-result record; delivery stays apart."""

from __future__ import annotations

from device.interview.bank import load_bank, shipped_banks
from device.interview.scoring.delivery import Segment, delivery_figures
from device.interview.scoring.profile import OVERALL_ID, build_profile, wire_scores
from device.interview.scoring.scorer import score_answer
from sync.protocol.records import InterviewResultBody
from tests.interview.conftest import needs_minilm


@needs_minilm
def test_profile_goes_into_the_interview_result_record() -> None:
    bank = load_bank(next(p for p in shipped_banks() if p.name == "customer-service-en.toml"))
    answers = {
        "cs-angry-customer": "A customer was angry about a late parcel. I apologised, checked the tracking and "
                             "sent a courier the same day. She thanked me and kept the order.",
        "cs-refund-policy": "I would explain the 30 day policy, check if the product is faulty, and offer store "
                            "credit or ask my supervisor for an exception.",
        "cs-busy-queue": "",  # silence: no score, never a zero
    }
    scores = {q: score_answer(bank.question(q).text, a, bank.question(q).rubric, "en") for q, a in answers.items()}
    profile = build_profile(bank, scores)
    by_id = {c.competency: c for c in profile.competencies}
    assert by_id["customer-focus"].score == scores["cs-angry-customer"].score
    assert by_id["problem-solving"].answered == 1 and by_id["problem-solving"].questions == 2
    assert by_id["teamwork"].score is None
    assert profile.overall is not None and profile.weight_covered == 0.75

    body = InterviewResultBody.model_validate({
        "session_id": "s1", "candidate_id": "c1", "role_id": bank.role_id, "consent_id": "k1",
        "completed_ms": 1_700_000_000_000, "clock_synced": True,
        "answers": [{"question_id": q, "transcript": a, "duration_ms": 1000} for q, a in answers.items()],
        "scores": wire_scores(profile),
        "delivery": delivery_figures(answers["cs-angry-customer"], "en", 30.0),
    })
    competencies = [s.competency for s in body.scores]
    assert competencies == ["customer-focus", "problem-solving", OVERALL_ID]
    evidence = body.scores[0].evidence
    assert evidence[0].startswith("[cs-angry-customer] score")
    assert any('"I apologised, checked the tracking and sent a courier the same day."' in line for line in evidence)
    assert any("[cs-busy-queue] no answer" in line for line in body.scores[1].evidence)


def test_delivery_figures_count_pace_pauses_and_fillers() -> None:
    text = "um so I called the customer uh and I you know fixed it"
    figures = delivery_figures(text, "en", 6.0, [Segment(0.0, 2.0, "um so I called"), Segment(4.5, 6.0, "fixed it")])
    assert figures["words_per_min"] == 130.0
    assert figures["fillers"] == 3.0
    assert figures["pauses"] == 1.0 and figures["longest_pause_s"] == 2.5
    zh = delivery_figures("嗯，我先道歉，然后那个处理了问题。", "zh", 10.0)
    assert zh["fillers"] == 2.0 and zh["chars_per_min"] > 0
