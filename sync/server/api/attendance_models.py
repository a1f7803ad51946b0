"""Request bodies of the attendance-rule routes: shifts with every setting, assignments with end dates,
holiday calendars, manual attendance and leave (kept apart from ``models``, which other routes share)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.server.api.models import ShiftAssignIn, ShiftIn
from sync.server.store.shift_rules import ShiftRules


class ShiftRulesIn(ShiftIn):
    checkin_before_start_min: int | None = Field(
        None, ge=0, le=720, description="check-in window opens this long before the start (null: half the gap)")
    checkout_after_end_min: int | None = Field(
        None, ge=0, le=720, description="check-out window closes this long after the end (null: half the gap)")
    late_marking: bool = True
    early_marking: bool = True
    half_day_below_hours: float | None = Field(None, ge=0, le=24)
    absent_below_hours: float | None = Field(None, ge=0, le=24)
    direction: Literal["typed", "alternate"] = "typed"
    hours: Literal["pairs", "first_last"] = "pairs"
    mark_on_holidays: bool = False

    def rules(self) -> ShiftRules:
        return ShiftRules(self.checkin_before_start_min, self.checkout_after_end_min, self.late_marking,
                          self.early_marking, self.half_day_below_hours, self.absent_below_hours, self.direction,
                          self.hours, self.mark_on_holidays)

    def settings(self) -> dict[str, Any]:
        """Every setting as ``attendance.create_shift`` and ``update_shift`` take them (the API and the page)."""
        return {"name": self.name, "start": self.start, "end": self.end, "days": self.days,
                "grace_in_minutes": self.grace_in_minutes, "grace_out_minutes": self.grace_out_minutes,
                "overtime_after_minutes": self.overtime_after_minutes, "rules": self.rules()}


class ShiftAssignRangeIn(ShiftAssignIn):
    valid_to: date | None = Field(None, description="last day (inclusive); null: the default shift from valid_from")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CalendarIn(_In):
    name: str = Field(min_length=1, max_length=120)
    is_default: bool = False


class HolidayIn(_In):
    name: str = Field("", max_length=200)


class EmployeeCalendarIn(_In):
    calendar_id: int | None = Field(None, description="null: the default calendar")


class ManualIn(_In):
    employee_no: str = Field(min_length=1, max_length=64)
    day: date
    status: Literal["present", "half_day", "absent", "on_leave"]
    shift_id: int | None = Field(None, description="one shift of that day; null: every shift of the day")
    reason: str = Field(min_length=3, max_length=500)
