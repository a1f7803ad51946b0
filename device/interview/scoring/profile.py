"""A candidate's competency profile and weighted overall score, and its form in the sync record.

Per competency: the weighted mean (question weights) of its scored answers. Overall: the weighted mean
(competency weights) of the competencies that have a score; unanswered ones are listed, not zeroed,
and the overall says how much of the bank's weight it covers.

The ``interview-result`` record (sync/protocol/records.py) carries per competency ``competency``,
``score``, ``scale_max`` and ``evidence`` as a list of strings (at most 20, 2,000 characters each): the
evidence written as readable lines (the question, the answer sentence, what it matched and how closely,
and one line of sub-scores per answer), which any reader of the record can show. The same evidence as
structured fields (per answer its score and sub-scores; per competency the matches and key points) is
made by record_evidence.py. The overall score travels as one more entry, competency ``overall``, whose
evidence lines give the weights it was made from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from device.interview.bank import Bank
from device.interview.scoring.rule import SCALE_MAX
from device.interview.scoring.scorer import AnswerScore

OVERALL_ID = "overall"
MAX_EVIDENCE = 20
MAX_EVIDENCE_CHARS = 2000
#: Evidence lines per answer sentence kept for the record, best matches first.
SENTENCES_PER_ANSWER = 3


@dataclass
class CompetencyResult:
    competency: str
    name: str
    weight: float
    score: float | None
    answered: int
    questions: int
    evidence: list[str] = field(default_factory=list)


@dataclass
class Profile:
    competencies: list[CompetencyResult]
    overall: float | None
    weight_covered: float  # share of the competency weights behind ``overall`` (1.0 = all answered)


def build_profile(bank: Bank, scores: dict[str, AnswerScore]) -> Profile:
    """``scores`` maps question id -> its AnswerScore (questions not asked are simply absent)."""
    results: list[CompetencyResult] = []
    for comp in bank.competencies:
        questions = [q for q in bank.questions if q.competency == comp.id]
        scored = [(q, scores[q.id]) for q in questions if q.id in scores and scores[q.id].score is not None]
        evidence: list[str] = []
        for q in questions:
            if q.id in scores:
                evidence.extend(evidence_lines(q.id, scores[q.id]))
        value = None
        if scored:
            total_w = sum(q.weight for q, _ in scored)
            value = round(sum(q.weight * (s.score or 0.0) for q, s in scored) / total_w, 2)
        results.append(CompetencyResult(comp.id, comp.name, comp.weight, value, len(scored), len(questions),
                                        evidence[:MAX_EVIDENCE]))
    with_score = [c for c in results if c.score is not None]
    all_weight = sum(c.weight for c in results)
    overall = None
    covered = 0.0
    if with_score:
        w = sum(c.weight for c in with_score)
        overall = round(sum(c.weight * (c.score or 0.0) for c in with_score) / w, 2)
        covered = round(w / all_weight, 3)
    return Profile(results, overall, covered)


def evidence_lines(question_id: str, result: AnswerScore) -> list[str]:
    """Readable evidence for one answer: sub-scores, then its best-matching sentences."""
    if result.score is None:
        return [_cut(f"[{question_id}] no answer: nothing was said or typed, so no content score")]
    subs = ", ".join(f"{k} {v:.2f}" for k, v in result.subscores.items() if v is not None)
    lines = [_cut(f"[{question_id}] score {result.score:.2f}/{result.scale_max}; sub-scores: {subs}")]
    ranked = sorted((e for e in result.evidence if e.best is not None),
                    key=lambda e: e.best.scaled if e.best else 0.0, reverse=True)
    for e in ranked[:SENTENCES_PER_ANSWER]:
        assert e.best is not None
        target = f"{e.best.kind} (level {e.best.level})" if e.best.level is not None else e.best.kind
        star = f"; shows {'/'.join(e.star)}" if e.star else ""
        lines.append(_cut(f'[{question_id}] "{e.sentence}" ~ {target} "{e.best.text}" '
                          f"(cosine {e.best.similarity:.2f}, {e.best.scaled:.2f} of scale){star}"))
    return lines


def wire_scores(profile: Profile) -> list[dict[str, object]]:
    """The ``scores`` list of an interview-result body (CompetencyScore fields), overall last.

    A competency without any answered question has no score and is left out: the record's
    ``score`` must be a number, and a 0 would read as a bad answer (see the report to the lead).
    """
    out: list[dict[str, object]] = [
        {"competency": c.competency, "score": c.score, "scale_max": SCALE_MAX, "evidence": c.evidence}
        for c in profile.competencies
        if c.score is not None
    ]
    if profile.overall is not None:
        lines = [f"{c.competency}: {c.score:.2f} x weight {c.weight:g}" if c.score is not None
                 else f"{c.competency}: not answered (weight {c.weight:g} left out)" for c in profile.competencies]
        lines.append(f"share of the bank's competency weight covered: {profile.weight_covered:.0%}")
        # Weight 0: the overall is the competencies' weighted mean, not one more competency to weigh in.
        out.append({"competency": OVERALL_ID, "score": profile.overall, "scale_max": SCALE_MAX, "weight": 0.0,
                    "evidence": [_cut(line) for line in lines][:MAX_EVIDENCE]})
    return out


def _cut(text: str) -> str:
    return text if len(text) <= MAX_EVIDENCE_CHARS else text[: MAX_EVIDENCE_CHARS - 1] + "…"
