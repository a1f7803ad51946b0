"""Interview candidates; each change sends the booths it touches their whole candidate list."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server.api.deps import Booth, Interviews, Store
from sync.server.api.models import CandidateChange, CandidateIn
from sync.server.store import candidates

router = APIRouter(tags=["interviews"])


@router.post("/api/candidates", status_code=201)
def create_candidate(body: CandidateIn, who: Interviews, store: Store) -> dict[str, Any]:
    """Add a candidate; if a booth is named it gets its new candidate list (``list_sent_to``: booth ->
    downlink command_seq)."""
    return candidates.save(store, body.entry(body.candidate_id), actor=who.actor, create=True)


@router.get("/api/candidates")
def list_candidates(who: Interviews, store: Store, device_id: Booth = None) -> dict[str, Any]:
    """Every candidate, or one booth's, soonest window first."""
    return {"candidates": candidates.list_all(store, device_id)}


@router.get("/api/candidates/{candidate_id}")
def get_candidate(candidate_id: str, who: Interviews, store: Store) -> dict[str, Any]:
    """One candidate: name, role, question bank, window, booth."""
    return candidates.get(store, candidate_id)


@router.put("/api/candidates/{candidate_id}")
def update_candidate(candidate_id: str, body: CandidateChange, who: Interviews, store: Store) -> dict[str, Any]:
    """Replace a candidate's details; the booth they leave and the booth they join get their new lists."""
    return candidates.save(store, body.entry(candidate_id), actor=who.actor, create=False)


@router.delete("/api/candidates/{candidate_id}")
def delete_candidate(candidate_id: str, who: Interviews, store: Store) -> dict[str, Any]:
    """Remove a candidate (their interview sessions stay); their booth gets its new list."""
    return candidates.delete(store, candidate_id, who.actor)
