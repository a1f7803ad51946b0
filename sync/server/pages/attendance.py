"""Attendance pages: who is in today (the home page) and timesheets for a date range (status, final or
open, unattached punches). The attendance rules are ``attendance_rules``."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server import auth
from sync.server.app_state import Store
from sync.server.bounds import EARLIEST, LATEST, Day
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import attendance, employees, timesheet_reader
from sync.server.timesheets import row_json

router = APIRouter(include_in_schema=False)

#: The longest range the timesheets page computes (about a quarter); longer ranges go through the API.
MAX_PAGE_DAYS = 93


@router.get("/", response_class=HTMLResponse)
def today(request: Request, who: Viewer, store: Store, day: Day | None = None) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.READ_HR:
        return render(request, "today.html", {"who": who, "people": [], "day": None, "forbidden": True})
    shown = day or store.now().astimezone(store.tz).date()
    people = attendance.today_summary(store, shown)
    return render(request, "today.html", {"who": who, "people": people, "day": shown, "forbidden": False})


def _range(request: Request, today_local: date) -> tuple[date, date]:
    """?from= and ?to= (the last week by default; unreadable dates, or ones outside the window the API
    accepts, fall back to it)."""
    week_ago = today_local - timedelta(days=6)
    try:
        first = date.fromisoformat(request.query_params.get("from") or week_ago.isoformat())
        last = date.fromisoformat(request.query_params.get("to") or today_local.isoformat())
    except ValueError:
        return week_ago, today_local
    if not all(EARLIEST <= d < LATEST for d in (first, last)):
        return week_ago, today_local
    return first, last


@router.get("/timesheets", response_class=HTMLResponse)
def timesheets_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    first, last = _range(request, store.now().astimezone(store.tz).date())
    rows: list[dict[str, Any]] = []
    unattached: list[dict[str, Any]] = []
    if who.role in auth.READ_HR and first <= last and (last - first).days < MAX_PAGE_DAYS:
        names = employees.names(store)
        report = timesheet_reader.load(store, first, last)
        rows = [
            row_json(r, store.tz) | {"name": names.get(r.employee_no, ""), "first": r.first_in, "last": r.last_out}
            for r in report.rows
        ]
        unattached = [
            {"employee_no": no, "name": names.get(no, ""), "at": p.at.astimezone(store.tz).strftime("%Y-%m-%d %H:%M")}
            for no, punches in sorted(report.unattached.items())
            for p in punches
        ]
    return render(
        request,
        "timesheets.html",
        {"who": who, "rows": rows, "unattached": unattached, "first": first, "last": last,
         "forbidden": who.role not in auth.READ_HR},
    )
