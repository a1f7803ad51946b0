"""A finished session -> its ``interview-result`` body: the kept answers scored by the device's scorer.

Per question the bank's re-record policy picks the attempt that counts (``last`` or the longest
transcript). Competency scores come from ``device.interview.scoring`` with their evidence (readable
lines, and the structured fields of ``scoring.record_evidence``: per answer its content score and
sub-scores, per competency the matched sentences and key points covered or missed); delivery
figures (pace, fillers) travel apart and never enter a score; integrity flags are for the reviewer only.
"""

from __future__ import annotations

from collections.abc import Sequence

from device.interview.bank import Bank
from device.interview.scoring.delivery import delivery_figures
from device.interview.scoring.profile import build_profile, wire_scores
from device.interview.scoring.record_evidence import answer_fields, competency_fields
from device.interview.scoring.scorer import AnswerScore, score_answer
from device.store.booth_sessions import AnswerRow, SessionRow
from sync.protocol import InterviewResultBody

#: Most answers a record carries (the protocol's bound).
MAX_ANSWERS = 100


def kept_answers(bank: Bank, rows: Sequence[AnswerRow]) -> dict[str, AnswerRow]:
    """Question id -> the attempt that counts under the question's re-record policy (done attempts only)."""
    kept: dict[str, AnswerRow] = {}
    for question in bank.questions:
        done = [r for r in rows if r.question_id == question.id and r.status == "done"]
        if not done:
            continue
        if question.retakes.keep == "best-transcript-length":
            kept[question.id] = max(done, key=lambda r: (len(r.transcript.strip()), r.attempt))
        else:
            kept[question.id] = max(done, key=lambda r: r.attempt)
    return kept


def score_session(bank: Bank, kept: dict[str, AnswerRow]) -> dict[str, AnswerScore]:
    return {qid: score_answer(bank.question(qid).text, row.transcript, bank.question(qid).rubric, bank.lang)
            for qid, row in kept.items()}


def result_body(
    bank: Bank,
    session: SessionRow,
    kept: dict[str, AnswerRow],
    scores: dict[str, AnswerScore],
    *,
    completed_ms: int,
    clock_synced: bool,
    integrity_flags: list[str],
) -> InterviewResultBody:
    profile = build_profile(bank, scores)
    wire = wire_scores(profile)
    weights = {c.id: c.weight for c in bank.competencies}
    for entry in wire:
        competency = str(entry["competency"])
        if competency in weights:
            # The structured evidence (matches, key points, sub-scores) beside the readable lines.
            entry.update(weight=weights[competency], **competency_fields(bank, competency, scores))
    answers = [
        {"question_id": qid, "transcript": row.transcript, "duration_ms": row.duration_ms, "typed": row.typed,
         **(answer_fields(bank, qid, scores[qid]) if qid in scores else {})}
        for qid, row in kept.items()
    ][:MAX_ANSWERS]
    spoken = [row for row in kept.values() if not row.typed and row.duration_ms > 0]
    delivery: dict[str, float] = {}
    if spoken:
        text = " ".join(r.transcript for r in spoken)
        delivery = delivery_figures(text, bank.lang, sum(r.duration_ms for r in spoken) / 1000.0)
    return InterviewResultBody.model_validate(
        {
            "session_id": session.session_id,
            "candidate_id": session.candidate_id,
            "role_id": session.role_id,
            "consent_id": session.consent_id,
            "completed_ms": completed_ms,
            "clock_synced": clock_synced,
            "answers": answers,
            "scores": wire,
            "integrity_flags": integrity_flags,
            "delivery": delivery,
        },
        strict=False,
    )
