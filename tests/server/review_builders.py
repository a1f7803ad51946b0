"""Realistic interview sessions for HR's review, built through the protocol: each body is the protocol's
InterviewResultBody with the scorer's evidence (matches with anchors and key points, key-point coverage,
sub-scores, weights), carried as an InterviewResultRecord inside a RecordsBody as a booth's courier sends
it, and stored by the HR store's ingest contract."""

from __future__ import annotations

from collections.abc import Sequence

from sync.protocol import InterviewResultRecord, RecordsBody
from sync.protocol.records import InterviewResultBody
from sync.server.store import HRStore, records
from tests.server.builders import BASE_MS

#: The role's competencies and the question bank's weights (overall = weighted mean, in % of the scale).
WEIGHTS = {"ownership": 2.0, "communication": 1.0, "problem-solving": 1.0}
ANSWERS = {
    "q1": "I led the migration of our billing system. I wrote the rollback plan myself and we cut outages by 40%.",
    "q2": "I explained the trade-offs to the finance team in plain words and sent a written summary.",
    "q3": "I reproduced the bug with a small test, found the race and fixed it with a lock.",
}
EVIDENCE = {
    "ownership": ("q1", "I wrote the rollback plan myself and we cut outages by 40%.",
                  "Takes responsibility for outcomes beyond their assigned tasks", 4, "Owned a measurable result"),
    "communication": ("q2", "I explained the trade-offs to the finance team in plain words.",
                      "Adapts the message to a non-technical audience", 4, "Checks understanding in writing"),
    "problem-solving": ("q3", "I reproduced the bug with a small test, found the race and fixed it with a lock.",
                        "Isolates the cause before changing code", 5, "Reproduces before fixing"),
}  # fmt: skip


def session_body(
    session_id: str,
    candidate_id: str,
    role_id: str = "backend-dev",
    scores: Sequence[float] = (4.0, 3.0, 4.0),
    *,
    completed_ms: int = BASE_MS + 3_600_000,
    flags: Sequence[str] = (),
) -> InterviewResultBody:
    """A finished session with three scored competencies (ownership, communication, problem-solving)."""
    rubric = []
    for (competency, weight), score in zip(WEIGHTS.items(), scores, strict=True):
        question, sentence, anchor, level, key_point = EVIDENCE[competency]
        rubric.append({
            "competency": competency, "score": score, "scale_max": 5, "evidence": [sentence], "weight": weight,
            "subscores": {"anchors": round(score / 5, 2), "key_points": 0.75, "structure": 0.6, "specificity": 0.8},
            "matches": [{"sentence": sentence, "question_id": question, "kind": "anchor", "matched": anchor,
                         "level": level, "similarity": 0.71},
                        {"sentence": sentence, "question_id": question, "kind": "key-point", "matched": key_point,
                         "similarity": 0.64}],
            "key_points": [{"key_point": key_point, "covered": True, "sentence": sentence, "similarity": 0.64},
                           {"key_point": "Names the risk to customers", "covered": False}],
        })  # fmt: skip
    return InterviewResultBody.model_validate(
        {
            "session_id": session_id,
            "candidate_id": candidate_id,
            "role_id": role_id,
            "consent_id": f"consent-{candidate_id}",
            "completed_ms": completed_ms,
            "clock_synced": True,
            "answers": [{"question_id": q, "transcript": text, "duration_ms": 45_000} for q, text in ANSWERS.items()],
            "scores": rubric,
            "integrity_flags": list(flags),
            "delivery": {"words_per_minute": 131.0, "pause_ratio": 0.12},
        }
    )


def overall_of(scores: Sequence[float]) -> float:
    """The overall score the review computes for ``scores`` (the weights above, scale 5)."""
    total = sum(WEIGHTS.values())
    return round(100 * sum(w * s / 5 for w, s in zip(WEIGHTS.values(), scores, strict=True)) / total, 2)


def ingest_sessions(store: HRStore, device_id: str, bodies: Sequence[InterviewResultBody], first_seq: int = 1) -> None:
    """Send the sessions as one records message of the booth (one record per session, ref = session id)."""
    message = RecordsBody(
        records=[
            InterviewResultRecord(seq=first_seq + i, ref=b.session_id, created_at_ms=b.completed_ms, clock_synced=True,
                                  type="interview-result", body=b)
            for i, b in enumerate(bodies)
        ]
    )  # fmt: skip
    result = records.ingest(store, device_id, message.records)
    assert len(result.stored) == len(bodies), result
