"""Shifts (start, end, weekdays, grace and overtime minutes, windows, marking, thresholds, direction and hours
rules, holidays) and which shift an employee works when (from a date on, or for a range of days)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server.api.attendance_models import ShiftAssignRangeIn, ShiftRulesIn
from sync.server.api.deps import ReadHR, Store, WriteHR
from sync.server.bounds import RowId
from sync.server.store import attendance

router = APIRouter()


@router.post("/api/shifts", status_code=201)
def create_shift(body: ShiftRulesIn, who: WriteHR, store: Store) -> dict[str, Any]:
    shift_id = attendance.create_shift(store, **body.settings(), actor=who.actor)
    return {"id": shift_id}


@router.put("/api/shifts/{shift_id}")
def update_shift(shift_id: RowId, body: ShiftRulesIn, who: WriteHR, store: Store) -> dict[str, Any]:
    """Every setting at once, as a create takes them (audited with the old values)."""
    attendance.update_shift(store, shift_id, **body.settings(), actor=who.actor)
    return {"id": shift_id}


@router.get("/api/shifts")
def list_shifts(who: ReadHR, store: Store) -> dict[str, Any]:
    return {"shifts": attendance.shifts(store)}


@router.put("/api/employees/{employee_no}/shift")
def set_shift(employee_no: str, body: ShiftAssignRangeIn, who: WriteHR, store: Store) -> dict[str, Any]:
    attendance.assign_shift(store, employee_no, body.shift_id, body.valid_from, who.actor, body.valid_to)
    return {"employee_no": employee_no, "shift_id": body.shift_id, "valid_from": body.valid_from.isoformat(),
            "valid_to": body.valid_to.isoformat() if body.valid_to else None}


@router.get("/api/employees/{employee_no}/shifts")
def list_assignments(employee_no: str, who: ReadHR, store: Store) -> dict[str, Any]:
    return {"employee_no": employee_no, "assignments": attendance.assignments(store, employee_no)}
