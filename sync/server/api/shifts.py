"""Shifts (start, end, weekdays, grace and overtime minutes) and which shift an employee works from when."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server.api.deps import ReadHR, Store, WriteHR
from sync.server.api.models import ShiftAssignIn, ShiftIn
from sync.server.store import attendance

router = APIRouter()


@router.post("/api/shifts", status_code=201)
def create_shift(body: ShiftIn, who: WriteHR, store: Store) -> dict[str, Any]:
    shift_id = attendance.create_shift(
        store,
        name=body.name,
        start=body.start,
        end=body.end,
        days=body.days,
        grace_in_minutes=body.grace_in_minutes,
        grace_out_minutes=body.grace_out_minutes,
        overtime_after_minutes=body.overtime_after_minutes,
        actor=who.actor,
    )
    return {"id": shift_id}


@router.get("/api/shifts")
def list_shifts(who: ReadHR, store: Store) -> dict[str, Any]:
    return {"shifts": attendance.shifts(store)}


@router.put("/api/employees/{employee_no}/shift")
def set_shift(employee_no: str, body: ShiftAssignIn, who: WriteHR, store: Store) -> dict[str, Any]:
    attendance.assign_shift(store, employee_no, body.shift_id, body.valid_from, who.actor)
    return {"employee_no": employee_no, "shift_id": body.shift_id, "valid_from": body.valid_from.isoformat()}
