"""Interview sessions reported by booths: list, scores as CSV, one session's report, erasure."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from sync.server import export
from sync.server.api.deps import Booth, From, Interviews, Store, To
from sync.server.api.downloads import csv_download
from sync.server.bounds import Day
from sync.server.store import interviews

router = APIRouter(tags=["interviews"])

RoleFilter = Annotated[str | None, Query(description="only this role id")]


@router.get("/api/interviews")
def list_interviews(
    who: Interviews,
    store: Store,
    first: Annotated[Day | None, Query(alias="from", description="first day completed, YYYY-MM-DD")] = None,
    last: Annotated[Day | None, Query(alias="to", description="last day completed (inclusive)")] = None,
    role_id: RoleFilter = None,
    device_id: Booth = None,
    candidate_id: Annotated[str | None, Query(description="only this candidate")] = None,
) -> dict[str, Any]:
    """Interview sessions completed in a date range (server time zone), newest first, with their rubric
    scores (advice for a human reviewer, not a decision); transcripts are in each session's report."""
    rows = interviews.list_sessions(
        store, first=first, last=last, role_id=role_id, device_id=device_id, candidate_id=candidate_id
    )
    return {"interviews": rows}


@router.get("/api/interviews.csv")
def interviews_csv(
    who: Interviews, store: Store, first: From, last: To, role_id: RoleFilter = None, device_id: Booth = None
) -> Response:
    """One CSV row per competency score of the sessions completed in the range (UTF-8 with a BOM, for
    Excel); no transcripts or evidence sentences."""
    text = export.interview_scores_csv(interviews.score_rows(store, first, last, role_id, device_id))
    return csv_download(text, f"interview_scores_{first.isoformat()}_{last.isoformat()}.csv")


@router.get("/api/interviews/{session_id}")
def get_interview(session_id: str, who: Interviews, store: Store) -> dict[str, Any]:
    """A session's report: answers with transcripts, scores with their evidence sentences, the consent
    id, the booth, the times, delivery figures (apart from the scores), and conflicting records if any."""
    return interviews.report(store, session_id)


@router.delete("/api/interviews/{session_id}")
def erase_interview(session_id: str, who: Interviews, store: Store) -> dict[str, Any]:
    """Erase a session's transcripts, scores and ids (a candidate's request); the audit log keeps the act."""
    return interviews.erase(store, session_id, who.actor)
