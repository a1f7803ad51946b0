"""Retention of interview data: each site's policy (admins set it, HR reads it), the server job's runs and the
booths' runs (counts only), a run now (admins)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Path

from sync.server.api.deps import Store
from sync.server.api.interview_models import RetentionPolicyIn
from sync.server.api.review_deps import ReadRetention, Retention
from sync.server.store import booth_retention, retention

router = APIRouter(tags=["retention"])

Site = Annotated[str, Path(min_length=1, max_length=64, description='a site name, or "*" for the default')]


@router.get("/api/retention/policies")
def policies(who: ReadRetention, store: Store) -> dict[str, Any]:
    """Every site's policy (a site without its own follows "*"), each device's last retention-policy command
    (sent, confirmed) and the policy changes (who, when, before, after, why)."""
    return {"policies": retention.policies(store), "devices": booth_retention.delivery(store),
            "changes": retention.history(store)}  # fmt: skip


@router.put("/api/retention/policies/{site}")
def set_policy(site: Site, body: RetentionPolicyIn, who: Retention, store: Store) -> dict[str, Any]:
    """Set a site's policy: audio deleted by its booths after audio_days, transcripts and scores after
    transcript_days; queued at once for the site's devices as a retention-policy command."""
    return retention.set_policy(store, site, body.audio_days, body.transcript_days, who.actor, body.reason)


@router.get("/api/retention/runs")
def runs(who: ReadRetention, store: Store) -> dict[str, Any]:
    """The server retention job's runs, newest first: counts of what each deleted, never content."""
    return {"runs": retention.runs(store)}


@router.get("/api/retention/booth-runs")
def booth_runs(who: ReadRetention, store: Store) -> dict[str, Any]:
    """The booths' retention runs as they reported them (retention-run records), newest first: counts only."""
    return {"runs": booth_retention.runs(store)}


@router.post("/api/retention/run")
def run_now(who: Retention, store: Store) -> dict[str, Any]:
    """Run the retention job now (it also runs on its own every hour in ``edgehr server run``)."""
    done = retention.run(store, started_by=who.actor)
    retention.send_policies(store)
    return done
