"""Retention of interview data (admins): each site's policy, the job's runs (counts only), a run now."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Path

from sync.server.api.deps import Store
from sync.server.api.interview_models import RetentionPolicyIn
from sync.server.api.review_deps import Retention
from sync.server.store import retention

router = APIRouter(tags=["retention"])

Site = Annotated[str, Path(min_length=1, max_length=64, description='a site name, or "*" for the default')]


@router.get("/api/retention/policies")
def policies(who: Retention, store: Store) -> dict[str, Any]:
    """Every site's policy (a site without its own follows "*")."""
    return {"policies": retention.policies(store)}


@router.put("/api/retention/policies/{site}")
def set_policy(site: Site, body: RetentionPolicyIn, who: Retention, store: Store) -> dict[str, Any]:
    """Set a site's policy: audio deleted by its booths after audio_days, transcripts and scores after
    transcript_days."""
    return retention.set_policy(store, site, body.audio_days, body.transcript_days, who.actor)


@router.get("/api/retention/runs")
def runs(who: Retention, store: Store) -> dict[str, Any]:
    """The retention job's runs, newest first: counts of what each deleted, never content."""
    return {"runs": retention.runs(store)}


@router.post("/api/retention/run")
def run_now(who: Retention, store: Store) -> dict[str, Any]:
    """Run the retention job now (it also runs on its own every hour in ``edgehr server run``)."""
    return retention.run(store, started_by=who.actor)
