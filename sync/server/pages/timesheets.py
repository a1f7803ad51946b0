"""HR's timesheet pages: per-person totals for a period (filters by site, device and shift, a search by
name or number, paging), the attendance-rate and lateness trend chart, the payroll CSV with the same
filters, and one person's days with their punches, where HR adds a missed punch or voids a wrong one.

The rows are computed at most once per request for the whole range by ``timesheet_reader.load`` (the
API's computation, unchanged), kept while their inputs are unchanged (``store.report_cache``: paging,
filters, search and the CSV reuse them) and summarised in one pass (``timesheet_summary``). A correction goes through
``attendance.add_correction``, the API's store call (audited, sent to webhooks); the form is same-origin
with the session's CSRF token and needs a role that may write HR data.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.errors import InputError
from sync.server import auth, export, timesheet_summary, trend_chart
from sync.server.api.downloads import csv_download
from sync.server.app_state import Store
from sync.server.bounds import EARLIEST, LATEST
from sync.server.pages.common import Viewer, csrf_token, form_allowed, render, to_login
from sync.server.store import attendance, device_status, employees
from sync.server.store.attendance import CorrectionRequest
from sync.server.store.report_cache import ReportCache
from sync.server.timesheet_summary import Filters
from sync.server.timesheets import DayRow, TimedPunch

router = APIRouter(include_in_schema=False)

#: The longest range the pages compute (about a quarter); longer ranges go through the API.
MAX_PAGE_DAYS = 93
TITLE = "hr.timesheets.title"
#: The list's query a person's page carries on (back to the same list, and through a correction).
KEPT = ("from", "to", "site", "device", "shift", "q", "per", "page")


def _kept(request: Request) -> dict[str, str]:
    return {k: v[:100] for k, v in request.query_params.items() if k in KEPT}


def _range(request: Request, today_local: date) -> tuple[date, date]:
    """?from= and ?to= (the last week by default; unreadable dates, ones outside the window the API
    accepts, or a range the pages do not compute fall back to it)."""
    week_ago = today_local - timedelta(days=6)
    try:
        first = date.fromisoformat(request.query_params.get("from") or week_ago.isoformat())
        last = date.fromisoformat(request.query_params.get("to") or today_local.isoformat())
    except ValueError:
        return week_ago, today_local
    if not all(EARLIEST <= d < LATEST for d in (first, last)) or not 0 <= (last - first).days < MAX_PAGE_DAYS:
        return week_ago, today_local
    return first, last


def _filters(request: Request) -> Filters:
    q = request.query_params
    return Filters(*(str(q.get(name) or "")[:timesheet_summary.MAX_QUERY] for name in ("site", "device", "shift", "q")))


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and len(text) < 7 else default


def reports(request: Request) -> ReportCache:
    """The app's cache of computed reports (one per process, made on first use)."""
    state = request.app.state
    if not hasattr(state, "timesheet_reports"):
        state.timesheet_reports = ReportCache()
    cache: ReportCache = state.timesheet_reports
    return cache


def _forbidden(request: Request, who: auth.Principal) -> Response:
    return render(request, "forbidden.html", {"who": who, "title": TITLE}, status=403)


class _Period:
    """The request's range and filters, and the rows they keep (computed once)."""

    def __init__(self, request: Request, store: Store) -> None:
        self.first, self.last = _range(request, store.now().astimezone(store.tz).date())
        self.filters = _filters(request)
        self.names = employees.names(store)
        self.sites = device_status.sites(store)
        report = reports(request).load(store, self.first, self.last)
        chosen = self._devices()
        assigned = device_status.assigned_to(store, chosen) if chosen is not None else frozenset()
        self.rows = timesheet_summary.select(report.rows, self.names, self.filters, chosen, assigned)
        kept = {r.employee_no for r in self.rows}
        filtered = chosen is not None or any((self.filters.shift, self.filters.q))
        self.unattached = {no: ps for no, ps in report.unattached.items() if no in kept or not filtered}

    def _devices(self) -> frozenset[str] | None:
        f = self.filters
        if not f.site and not f.device:
            return None
        return frozenset(d for d, site in self.sites.items() if (not f.site or site == f.site)
                         and (not f.device or d == f.device))

    def query(self, **extra: str) -> str:
        values = {"from": self.first.isoformat(), "to": self.last.isoformat()} | self.filters.query() | extra
        return urlencode(values)


def _unattached(period: _Period, tz: Any) -> list[dict[str, Any]]:
    return [
        {"employee_no": no, "name": period.names.get(no, ""), "at": p.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")}
        for no, punches in sorted(period.unattached.items())
        for p in punches
    ]


@router.get("/timesheets", response_class=HTMLResponse)
def timesheets_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.READ_HR:
        return _forbidden(request, who)
    period = _Period(request, store)
    people = timesheet_summary.totals(period.rows, period.names)
    q = request.query_params
    page = timesheet_summary.page_of(people, _int(q.get("page"), 1), _int(q.get("per"), 50))
    days = timesheet_summary.trend(period.rows, period.first, period.last)
    context = {
        "who": who, "first": period.first, "last": period.last, "filters": period.filters, "page": page,
        "sites": sorted(set(period.sites.values()) - {""}), "devices": sorted(period.sites),
        "shifts": [s["name"] for s in attendance.shifts(store)], "sizes": timesheet_summary.PAGE_SIZES,
        "trend": days, "chart": trend_chart.chart(days), "unattached": _unattached(period, store.tz),
        "csv": "/timesheets.csv?" + period.query(), "base": period.query(per=str(page.size)),
        "person_query": period.query(per=str(page.size), page=str(page.number)),
    }
    return render(request, "timesheets.html", context)


@router.get("/timesheets.csv")
def timesheets_csv(request: Request, who: Viewer, store: Store) -> Response:
    """The payroll CSV (the API's columns) for the page's range and filters."""
    if who is None:
        return to_login()
    if who.role not in auth.READ_HR:
        return _forbidden(request, who)
    period = _Period(request, store)
    text = export.timesheet_csv(period.rows, period.names, store.tz)
    return csv_download(text, f"timesheets_{period.first.isoformat()}_{period.last.isoformat()}.csv")


def _punch(p: TimedPunch, day: date, tz: Any) -> dict[str, Any]:
    local = p.at.astimezone(tz)
    shown = local.strftime("%H:%M") if local.date() == day else local.strftime("%m-%d %H:%M")
    return {"uid": p.uid, "direction": p.direction or "", "at": shown, "device": p.device_id,
            "synced": p.clock_synced, "voidable": p.device_id != "correction" and not p.uid.startswith("correction:")}


def _day(row: DayRow, tz: Any) -> dict[str, Any]:
    return {"row": row, "punches": [_punch(p, row.day, tz) for p in row.punches]}


def _correction(c: dict[str, Any], tz: Any) -> dict[str, Any]:
    at, created = c.get("at_ms"), datetime.fromisoformat(str(c["created_at"]))
    return c | {"at": datetime.fromtimestamp(at / 1000, tz).strftime("%Y-%m-%d %H:%M") if at is not None else "",
                "created": created.astimezone(tz).strftime("%Y-%m-%d %H:%M")}


def _person(
    request: Request, who: auth.Principal, store: Store, employee_no: str, status: int = 200, error: str = "",
    detail: str = "",
) -> Response:
    first, last = _range(request, store.now().astimezone(store.tz).date())
    names = employees.names(store)
    if employee_no not in names:
        return render(request, "timesheet_person.html", {"who": who, "missing": employee_no}, status=404)
    report = reports(request).person(store, first, last, employee_no)
    (person,) = timesheet_summary.totals(report.rows, names) or [timesheet_summary.Totals(employee_no, "")]
    unattached = [p.at.astimezone(store.tz).strftime("%Y-%m-%d %H:%M") for p in report.unattached.get(employee_no, [])]
    context = {
        "who": who, "missing": "", "person": person, "first": first, "last": last,
        "days": [_day(r, store.tz) for r in report.rows], "unattached": unattached,
        "corrections": [_correction(c, store.tz) for c in attendance.corrections(store, employee_no)[-50:]],
        "tz": store.tz,
        "can_write": who.role in auth.WRITE_HR, "csrf": csrf_token(request, store), "error": error,
        "detail": detail, "done": request.query_params.get("done", ""),
        "back": "/timesheets?" + urlencode(_kept(request)),
        "kept": urlencode(_kept(request) | {"from": first.isoformat(), "to": last.isoformat()}),
    }
    return render(request, "timesheet_person.html", context, status=status)


@router.get("/timesheets/people/{employee_no}", response_class=HTMLResponse)
def person_page(request: Request, employee_no: str, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.READ_HR:
        return _forbidden(request, who)
    return _person(request, who, store, employee_no)


def _moment(day: str, hhmm: str, tz: Any) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), tz)
    except ValueError:
        raise InputError(f"'{day} {hhmm}' is not a day and time.", "Give the day and the time as HH:MM.") from None


@router.post("/timesheets/people/{employee_no}/corrections", response_class=HTMLResponse)
def correct(
    request: Request, employee_no: str, who: Viewer, store: Store,
    csrf: str = Form("", max_length=100), action: str = Form("", max_length=8),
    punch_uid: str = Form("", max_length=128), day: str = Form("", max_length=10),
    at: str = Form("", max_length=5), direction: str = Form("", max_length=3), reason: str = Form("", max_length=500),
) -> Response:
    """Add a missed punch (day, time, direction) or void a punch, with a reason; back to the person's days."""
    if who is None:
        return to_login()
    if who.role not in auth.WRITE_HR:
        return _forbidden(request, who)
    if not form_allowed(request, store, csrf):
        return _person(request, who, store, employee_no, 400, "hr.ts.refused")
    try:
        if action == "add":
            if direction not in ("in", "out"):
                raise InputError("A punch goes in or out.", "Choose in or out.")
            way: Literal["in", "out"] = "out" if direction == "out" else "in"
            fix = CorrectionRequest(employee_no, "add", reason, direction=way, at=_moment(day, at, store.tz))
        elif action == "void":
            fix = CorrectionRequest(employee_no, "void", reason, punch_uid=punch_uid)
        else:
            raise InputError(f"Unknown correction {action!r}.", "Add or void a punch.")
        attendance.add_correction(store, fix, who.actor)
    except InputError as exc:
        return _person(request, who, store, employee_no, 400, "hr.ts.invalid", f"{exc.what} {exc.fix}")
    back = _kept(request) | {"done": action}
    return RedirectResponse(f"/timesheets/people/{quote(employee_no, safe='')}?{urlencode(back)}#days",
                            status_code=303)
