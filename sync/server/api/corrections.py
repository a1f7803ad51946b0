"""Punch corrections by HR (add, void or change a punch, with a reason); the punches themselves stay."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server.api.deps import ReadHR, Store, WriteHR
from sync.server.api.models import CorrectionIn
from sync.server.store import attendance

router = APIRouter()


@router.post("/api/corrections", status_code=201)
def create_correction(body: CorrectionIn, who: WriteHR, store: Store) -> dict[str, Any]:
    return attendance.add_correction(store, body.request(), who.actor)


@router.get("/api/corrections")
def list_corrections(who: ReadHR, store: Store, employee_no: str | None = None) -> dict[str, Any]:
    return {"corrections": attendance.corrections(store, employee_no)}
