"""Interview-result record bodies as a booth will queue them (the protocol's InterviewResultBody)."""

from __future__ import annotations

from typing import Any

from sync.protocol.records import InterviewResultBody, InterviewResultRecord
from tests.server.builders import BASE_MS

TRANSCRIPT = "I led the migration of our billing system and wrote the rollback plan myself."
EVIDENCE = "wrote the rollback plan myself"


def interview_body(
    session_id: str = "S-1",
    *,
    candidate_id: str = "C-1",
    role_id: str = "backend-dev",
    completed_ms: int = BASE_MS + 3_600_000,
    score: float = 4.0,
    transcript: str = TRANSCRIPT,
) -> dict[str, Any]:
    """A valid body (checked against the protocol model here, so a test never sends a broken one by mistake)."""
    body = {
        "session_id": session_id,
        "candidate_id": candidate_id,
        "role_id": role_id,
        "consent_id": f"consent-{candidate_id}",
        "completed_ms": completed_ms,
        "clock_synced": True,
        "answers": [
            {"question_id": "q1", "transcript": transcript, "duration_ms": 42_000},
            {"question_id": "q2", "transcript": "Typed: I prefer small reviewed changes.", "duration_ms": 30_000,
             "typed": True},
        ],
        "scores": [
            {"competency": "ownership", "score": score, "scale_max": 5, "evidence": [EVIDENCE]},
            {"competency": "communication", "score": 3.5, "scale_max": 5,
             "evidence": ["I prefer small reviewed changes"]},
        ],
        "delivery": {"words_per_minute": 128.0},
    }  # fmt: skip
    return InterviewResultBody.model_validate(body).model_dump(mode="json", exclude_none=True)


def interview_record(seq: int, **kwargs: Any) -> InterviewResultRecord:
    """The record a booth sends for that session under outbox sequence ``seq``."""
    body = InterviewResultBody.model_validate(interview_body(**kwargs))
    return InterviewResultRecord(seq=seq, type="interview-result", ref=body.session_id,
                                 created_at_ms=body.completed_ms, clock_synced=body.clock_synced, body=body)
