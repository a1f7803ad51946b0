"""GET /api/punches: stored punches, filtered by work day, employee or device."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server.api.deps import ReadHR, Store
from sync.server.bounds import Day
from sync.server.store import attendance

router = APIRouter()


@router.get("/api/punches")
def list_punches(
    who: ReadHR,
    store: Store,
    day: Day | None = None,
    employee_no: str | None = None,
    device_id: str | None = None,
) -> dict[str, Any]:
    rows = attendance.punches(store, day=day.isoformat() if day else None, employee_no=employee_no, device_id=device_id)
    return {"punches": rows}
