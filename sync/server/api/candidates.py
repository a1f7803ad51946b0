"""Interview candidates; each change sends the booths it touches their whole candidate list."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from core.uploads import UploadError, read_upload
from sync.server import candidate_photo
from sync.server.api.deps import Booth, Enroller, Interviews, Store
from sync.server.api.employees import PHOTO_LIMITS, photo_form
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


_PHOTO_FORM = photo_form("the candidate's registered face photo (one or a few, JPEG, PNG...)",
                         "version of the consent text the candidate signed")


@router.post("/api/candidates/{candidate_id}/photo", openapi_extra=_PHOTO_FORM)
async def register_photo(request: Request, candidate_id: str, who: Interviews, enroller: Enroller) -> dict[str, Any]:
    """Register the candidate's photo for the booth's optional identity check (multipart: ``photos`` and
    ``consent_text_version``). As for employee photos: the role is checked first, the body read in memory
    within PHOTO_LIMITS, never written to disk; only the face templates are kept."""
    upload = await read_upload(request.headers.get("content-type", ""), request.headers.get("content-length"),
                               request.stream(), PHOTO_LIMITS)
    consent = upload.fields.get("consent_text_version")
    missing = [n for n, ok in (("photos", bool(upload.files)), ("consent_text_version", consent is not None)) if not ok]
    if missing:
        raise UploadError(f"body.{missing[0]}: Field required (the form has no {missing[0]!r}).",
                         "Send the photo as a form file named 'photos' and the form field consent_text_version.",
                         code="invalid-request", status=422)
    read = [(f.name, f.data) for f in upload.files]
    del upload
    return await run_in_threadpool(
        candidate_photo.register, enroller, candidate_id, read, consent_text_version=consent or "", actor=who.actor
    )
