"""Attendance pages: who is in today (the home page). The timesheets are in ``pages.timesheets``, the
attendance rules in ``pages.attendance_rules``."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.


from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server import auth
from sync.server.app_state import Store
from sync.server.bounds import Day
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import attendance

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
