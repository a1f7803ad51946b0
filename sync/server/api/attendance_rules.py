"""Holiday calendars (dated holidays for a group of employees or a site; one default) and HR's manual attendance
and leave records, which take precedence over punches in the timesheets."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date
from typing import Any

from fastapi import APIRouter

from sync.server.api.attendance_models import CalendarIn, EmployeeCalendarIn, HolidayIn, ManualIn
from sync.server.api.deps import ReadHR, Store, WriteHR
from sync.server.store import attendance_plan

router = APIRouter()


@router.post("/api/holiday-calendars", status_code=201)
def create_calendar(body: CalendarIn, who: WriteHR, store: Store) -> dict[str, Any]:
    return {"id": attendance_plan.create_calendar(store, body.name, body.is_default, who.actor)}


@router.get("/api/holiday-calendars")
def list_calendars(who: ReadHR, store: Store) -> dict[str, Any]:
    return {"calendars": attendance_plan.calendars(store)}


@router.put("/api/holiday-calendars/{calendar_id}/holidays/{day}")
def set_holiday(calendar_id: int, day: date, body: HolidayIn, who: WriteHR, store: Store) -> dict[str, Any]:
    attendance_plan.set_holiday(store, calendar_id, day, body.name, who.actor)
    return {"calendar_id": calendar_id, "day": day.isoformat(), "name": body.name}


@router.delete("/api/holiday-calendars/{calendar_id}/holidays/{day}")
def remove_holiday(calendar_id: int, day: date, who: WriteHR, store: Store) -> dict[str, Any]:
    attendance_plan.set_holiday(store, calendar_id, day, "", who.actor, remove=True)
    return {"calendar_id": calendar_id, "day": day.isoformat(), "removed": True}


@router.put("/api/employees/{employee_no}/holiday-calendar")
def set_employee_calendar(employee_no: str, body: EmployeeCalendarIn, who: WriteHR, store: Store) -> dict[str, Any]:
    attendance_plan.set_employee_calendar(store, employee_no, body.calendar_id, who.actor)
    return {"employee_no": employee_no, "calendar_id": body.calendar_id}


@router.put("/api/sites/{site}/holiday-calendar")
def set_site_calendar(site: str, body: EmployeeCalendarIn, who: WriteHR, store: Store) -> dict[str, Any]:
    """The calendar of the employees assigned to the site's devices who have none of their own."""
    attendance_plan.set_site_calendar(store, site, body.calendar_id, who.actor)
    return {"site": site, "calendar_id": body.calendar_id}


@router.post("/api/attendance/manual", status_code=201)
def add_manual(body: ManualIn, who: WriteHR, store: Store) -> dict[str, Any]:
    return attendance_plan.add_manual(store, employee_no=body.employee_no, day=body.day, status=body.status,
                                      reason=body.reason, actor=who.actor, shift_id=body.shift_id)


@router.get("/api/attendance/manual")
def list_manual(who: ReadHR, store: Store, employee_no: str | None = None) -> dict[str, Any]:
    return {"records": attendance_plan.manual_records(store, employee_no)}
