"""HR's review of interviews: roles and their ranked candidates, one session with its evidence, score
overrides with a reason (audited), shortlist decisions (a person's, with a reason)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from sync.server import interview_review
from sync.server.api.deps import Store
from sync.server.api.interview_models import DecisionIn, OverrideIn
from sync.server.api.review_deps import Reviewer
from sync.server.store import review

router = APIRouter(tags=["interview review"])


@router.get("/api/review/roles")
def list_roles(who: Reviewer, store: Store) -> dict[str, Any]:
    """Every role with interviewed and scheduled candidates."""
    return {"roles": review.roles(store)}


@router.get("/api/review/roles/{role_id}")
def role_ranking(
    role_id: str,
    who: Reviewer,
    store: Store,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """A role's candidates ranked by current overall score (overrides applied), with status and decision."""
    return {"role_id": role_id, "candidates": review.board(store, role_id, first, last)}


@router.get("/api/review/interviews/{session_id}")
def review_interview(session_id: str, who: Reviewer, store: Store) -> dict[str, Any]:
    """A session for review: answers, each score's evidence (sentences, anchors, key points, sub-scores),
    original and current scores, the weighted overall, delivery figures and integrity flags apart,
    overrides, audit entries and decisions."""
    return interview_review.full(store, session_id)


@router.post("/api/review/interviews/{session_id}/overrides", status_code=201)
def override_score(session_id: str, body: OverrideIn, who: Reviewer, store: Store) -> dict[str, Any]:
    """Override one competency's score with a reason; the booth's score stays visible; audited."""
    return review.override(store, session_id, body.competency, body.score, body.reason, who.actor)


@router.post("/api/review/candidates/{candidate_id}/decision", status_code=201)
def decide(candidate_id: str, body: DecisionIn, who: Reviewer, store: Store) -> dict[str, Any]:
    """Record a shortlist decision (advance, hold or reject) with a reason: a person's, never the system's."""
    return review.decide(store, candidate_id, body.role_id, body.decision, body.reason, who.actor)


@router.get("/api/review/candidates/{candidate_id}/decisions")
def decisions(candidate_id: str, who: Reviewer, store: Store) -> dict[str, Any]:
    """Every decision about a candidate, newest first."""
    return {"candidate_id": candidate_id, "decisions": review.decisions_of(store, candidate_id)}
