"""Attendance pages: who is in today (the home page) and the attendance rules (shifts, holiday calendars,
leave). The timesheets are in ``pages.timesheets``."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server import auth
from sync.server.app_state import Store
from sync.server.bounds import Day
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import attendance, attendance_plan

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def today(request: Request, who: Viewer, store: Store, day: Day | None = None) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.READ_HR:
        return render(request, "today.html", {"who": who, "people": [], "day": None, "forbidden": True})
    shown = day or store.now().astimezone(store.tz).date()
    people = attendance.today_summary(store, shown)
    return render(request, "today.html", {"who": who, "people": people, "day": shown, "forbidden": False})


@router.get("/attendance-rules", response_class=HTMLResponse)
def rules_page(request: Request, who: Viewer, store: Store) -> Response:
    """Shifts with every setting, holiday calendars, leave and manual records (read here; changed by API)."""
    if who is None:
        return to_login()
    allowed = who.role in auth.READ_HR
    context: dict[str, Any] = {"who": who, "forbidden": not allowed, "shifts": [], "calendars": [], "manual": []}
    if allowed:
        context |= {"shifts": attendance.shifts(store), "calendars": attendance_plan.calendars(store),
                    "manual": attendance_plan.manual_records(store)[-200:]}
    return render(request, "attendance_rules.html", context)
