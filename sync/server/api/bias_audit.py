"""The bias audit (auditor and admin) and candidates' self-reported demographics (read: auditor only)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from sync.server import auth, bias_audit, demographics
from sync.server.api.deps import Store
from sync.server.api.downloads import csv_download
from sync.server.api.interview_models import DemographicsIn
from sync.server.api.review_deps import Auditor, ReadDemographics, RecordDemographics
from sync.server.store import demographics as demographics_store

router = APIRouter(tags=["bias audit"])

First = Annotated[date | None, Query(alias="from", description="first completion day, YYYY-MM-DD")]
Last = Annotated[date | None, Query(alias="to", description="last completion day (inclusive)")]
RoleId = Annotated[
    str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$", description="the role audited")
]


@router.get("/api/bias-audit")
def audit_role(who: Auditor, store: Store, role_id: RoleId, first: First = None, last: Last = None) -> dict[str, Any]:
    """Selection and scoring rates per category and intersection, impact ratios against the highest group,
    four-fifths flags, categories under 2% marked excluded, unknown counts, and how each is computed."""
    return bias_audit.run(store, role_id, first, last)


@router.get("/api/bias-audit.csv")
def audit_csv(who: Auditor, store: Store, role_id: RoleId, first: First = None, last: Last = None) -> Response:
    """The same audit as CSV (UTF-8 with a BOM, for Excel)."""
    return csv_download(bias_audit.as_csv(bias_audit.run(store, role_id, first, last)), f"bias_audit_{role_id}.csv")


@router.get("/api/demographics/categories")
def categories(who: RecordDemographics) -> dict[str, Any]:
    """The dimensions and categories a candidate may report (each optional; "prefer-not-to-say" too)."""
    return {"dimensions": demographics.DIMENSIONS, "prefer_not_to_say": demographics.PREFER_NOT_TO_SAY}


@router.get("/api/candidates/{candidate_id}/demographics")
def read_demographics(candidate_id: str, who: ReadDemographics, store: Store) -> dict[str, Any]:
    """A candidate's self-reported categories (auditor only)."""
    return demographics_store.of(store, candidate_id)


@router.put("/api/candidates/{candidate_id}/demographics")
def record_demographics(
    candidate_id: str, body: DemographicsIn, who: RecordDemographics, store: Store
) -> dict[str, Any]:
    """Record a candidate's self-report; only an auditor gets the answers back."""
    held = demographics_store.record(store, candidate_id, body.answers, body.source, who.actor)
    if who.role in auth.READ_DEMOGRAPHICS:
        return held
    return {"candidate_id": candidate_id, "recorded": sorted(body.answers)}
