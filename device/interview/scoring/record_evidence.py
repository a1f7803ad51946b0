"""The scorer's evidence as the ``interview-result`` record's structured fields (sync/PROTOCOL.md section 8).

Besides the readable evidence lines (profile.py), the record carries what HR's review page lays out per
answer: the answer's content score, verdict and sub-scores (on the answer), and per competency the
sentences with what each matched (an anchor of a level, a key point, the reference answer) and how
closely, the key points covered or missed (each naming its question), and the competency's sub-scores
(the question-weighted mean of its answers'). Every list is bounded as the protocol bounds it; when a
competency has more answers than fit, each answer keeps an equal share, best matches first.
Delivery figures are not here: they travel apart and never enter a score.
"""

from __future__ import annotations

from typing import Any

from device.interview.bank import Bank
from device.interview.scoring.scorer import VERDICT_NO_ANSWER, AnswerScore, KeyPointEvidence

#: The protocol's bounds per competency score (sync/protocol/records.py CompetencyScore).
MAX_MATCHES = 40
MAX_KEY_POINTS = 20
MAX_TEXT = 2000
#: Matched sentences kept per answer at most, however few answers share the competency.
MATCHES_PER_ANSWER = 10


def answer_fields(bank: Bank, question_id: str, result: AnswerScore) -> dict[str, Any]:
    """The optional fields of one ``answers`` entry: competency, verdict, content score, sub-scores."""
    fields: dict[str, Any] = {"competency": bank.question(question_id).competency, "verdict": result.verdict}
    if result.verdict != VERDICT_NO_ANSWER and result.score is not None:
        fields["score"] = result.score
        fields["subscores"] = _present(result.subscores)
    return fields


def competency_fields(bank: Bank, competency_id: str, scores: dict[str, AnswerScore]) -> dict[str, Any]:
    """``subscores``, ``matches`` and ``key_points`` of one competency's entry in ``scores``."""
    answered = [(q, scores[q.id]) for q in bank.questions
                if q.competency == competency_id and q.id in scores and scores[q.id].score is not None]
    if not answered:
        return {}
    per_answer_matches = max(1, min(MATCHES_PER_ANSWER, MAX_MATCHES // len(answered)))
    per_answer_points = max(1, MAX_KEY_POINTS // len(answered))
    matches: list[dict[str, Any]] = []
    key_points: list[dict[str, Any]] = []
    for question, result in answered:
        matches += _matches(question.id, result, per_answer_matches)
        key_points += [_key_point(question.id, k) for k in result.key_points[:per_answer_points]]
    return {
        "subscores": _weighted_subscores([(q.weight, r) for q, r in answered]),
        "matches": matches[:MAX_MATCHES],
        "key_points": key_points[:MAX_KEY_POINTS],
    }


def _matches(question_id: str, result: AnswerScore, limit: int) -> list[dict[str, Any]]:
    """The answer's best-matching sentences (at most ``limit``), told in the answer's own order."""
    ranked = sorted((e for e in result.evidence if e.best is not None),
                    key=lambda e: e.best.scaled if e.best else 0.0, reverse=True)[:limit]
    out = []
    for e in sorted(ranked, key=lambda e: e.index):
        best = e.best
        assert best is not None
        match: dict[str, Any] = {"sentence": _cut(e.sentence), "question_id": question_id, "kind": best.kind,
                                 "matched": _cut(best.text.strip()), "similarity": _cosine(best.similarity),
                                 "scaled": _unit(best.scaled)}
        if best.level is not None:
            match["level"] = best.level
        out.append(match)
    return out


def _key_point(question_id: str, k: KeyPointEvidence) -> dict[str, Any]:
    point: dict[str, Any] = {"key_point": _cut(k.key_point), "covered": bool(k.covered), "question_id": question_id,
                             "similarity": _cosine(k.similarity), "scaled": _unit(k.scaled)}
    if k.covered:  # the sentence that covers it; a missed point's nearest sentence would only mislead
        point["sentence"] = _cut(k.sentence)
    return point


def _weighted_subscores(answers: list[tuple[float, AnswerScore]]) -> dict[str, float]:
    names = dict.fromkeys(name for _, r in answers for name in r.subscores)
    out: dict[str, float] = {}
    for name in names:
        values = [(w, r.subscores[name]) for w, r in answers if r.subscores.get(name) is not None]
        if values:
            out[name] = round(sum(w * (v or 0.0) for w, v in values) / sum(w for w, _ in values), 4)
    return out


def _present(subscores: dict[str, float | None]) -> dict[str, float]:
    return {name: round(value, 4) for name, value in subscores.items() if value is not None}


def _cosine(value: float) -> float:
    return round(min(1.0, max(-1.0, float(value))), 4)


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 4)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
