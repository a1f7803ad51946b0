"""The attendance-rules page: shifts with every setting the API takes (create and edit), shift assignments
with start and end dates, holiday calendars (dated holidays for an employee group, a site, or everyone),
and HR's leave and manual attendance records.

Read with a READ_HR role, changed with WRITE_HR. Every form posts to its own route here with the session's
CSRF token and is refused from another origin (``common.form_allowed``); it is checked by the API's own
request models (so the page accepts exactly what the API accepts) and stored by the same store calls, which
audit each change. A refused form shows the page again with the reason and what was typed.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from core.errors import EdgehrError, InputError
from sync.server import auth
from sync.server.api.attendance_models import CalendarIn, HolidayIn, ManualIn, ShiftAssignRangeIn, ShiftRulesIn
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, csrf_token, form_allowed, render, to_login
from sync.server.shift_model import MANUAL_STATUSES
from sync.server.store import attendance, attendance_plan, employees

router = APIRouter(include_in_schema=False)

PAGE = "/attendance-rules"
#: Manual records listed (newest last); older ones stay in the API's list.
MANUAL_SHOWN = 200
_TEXT = 200  # the longest value a form field takes (names, reasons are shorter in the models)

#: Form fields of a shift, in the order the form shows them (the names are the API's).
SHIFT_NUMBERS = ("grace_in_minutes", "grace_out_minutes", "overtime_after_minutes")
SHIFT_OPTIONAL = ("checkin_before_start_min", "checkout_after_end_min", "half_day_below_hours", "absent_below_hours")
SHIFT_SWITCHES = ("late_marking", "early_marking", "mark_on_holidays")


def _row_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 18 else None


def _context(request: Request, store: Store, who: auth.Principal) -> dict[str, Any]:
    shifts = attendance.shifts(store)
    edit = _row_id(request.query_params.get("edit", ""))
    return {
        "who": who,
        "can_write": who.role in auth.WRITE_HR,
        "csrf": csrf_token(request, store),
        "shifts": shifts,
        "editing": next((s for s in shifts if s["id"] == edit), None),
        "assignments": attendance.all_assignments(store),
        "calendars": attendance_plan.calendars(store),
        "sites": attendance_plan.sites(store),
        "manual": attendance_plan.manual_records(store)[-MANUAL_SHOWN:],
        "people": employees.list_all(store),
        "statuses": MANUAL_STATUSES,
        "done": request.query_params.get("done", ""),
        "error": "",
        "detail": "",
        "form": {},
    }


def shift_form(editing: dict[str, Any] | None, posted: dict[str, Any]) -> dict[str, Any]:
    """What the shift form shows: the values just refused, else the shift being edited, else a new one's."""
    if posted.get("name") is not None and "days" in posted:
        return posted | {"days": [int(d) for d in posted["days"] if d.isdigit() and len(d) == 1]}
    if editing is not None:
        values = {k: editing[k] for k in ("id", "name", "days", *SHIFT_NUMBERS, *SHIFT_SWITCHES, "direction")}
        values |= {k: "" if editing[k] is None else editing[k] for k in SHIFT_OPTIONAL}
        return values | {"start": editing["start_time"], "end": editing["end_time"], "hours": editing["hours_mode"]}
    fresh = {"id": None, "name": "", "start": "09:00", "end": "18:00", "days": [1, 2, 3, 4, 5], "direction": "typed",
             "hours": "pairs", "late_marking": True, "early_marking": True, "mark_on_holidays": False}
    return fresh | dict.fromkeys(SHIFT_NUMBERS, 0) | dict.fromkeys(SHIFT_OPTIONAL, "")


def _page(request: Request, store: Store, who: auth.Principal, status: int = 200, **values: Any) -> Response:
    if who.role not in auth.READ_HR:
        return render(request, "forbidden.html", {"who": who, "title": "hr.rules.title"}, status=403)
    context = _context(request, store, who) | values
    context["shift_form"] = shift_form(context["editing"], context["form"])
    return render(request, "attendance_rules.html", context, status=status)


def _saved(what: str, anchor: str) -> Response:
    return RedirectResponse(f"{PAGE}?done={what}#{anchor}", status_code=303)


def _refusal(request: Request, store: Store, who: auth.Principal, csrf: str) -> Response | None:
    """The answer to a form this viewer may not send (None: go on). A role that may not write is 403; a
    form without this session's token, or from another origin, is shown the page again (400)."""
    if who.role not in auth.WRITE_HR:
        return render(request, "forbidden.html", {"who": who, "title": "hr.rules.title"}, status=403)
    if not form_allowed(request, store, csrf):
        return _page(request, store, who, 400, error="hr.rules.refused")
    return None


def _attempt(
    request: Request, store: Store, who: auth.Principal, form: dict[str, Any], work: Callable[[], Response]
) -> Response:
    """Run ``work`` (parse with the API's model, then store); a refusal shows the page with why."""
    try:
        return work()
    except ValidationError as exc:
        first = exc.errors()[0]
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return _page(request, store, who, 400, error="hr.rules.invalid", detail=detail, form=form)
    except EdgehrError as exc:
        return _page(request, store, who, 400, error="hr.rules.invalid", detail=f"{exc.what} {exc.fix}", form=form)


@router.get(PAGE, response_class=HTMLResponse)
def rules_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    return _page(request, store, who)


# --- shifts ----------------------------------------------------------------------------------


def _number(text: str, kind: Callable[[str], Any]) -> Any:
    """A form's number as the API's JSON would carry it; unreadable text goes to the model as it is, which
    refuses it with the field's name."""
    try:
        return kind(text.strip())
    except ValueError:
        return text


def _shift_body(form: dict[str, Any]) -> ShiftRulesIn:
    data: dict[str, Any] = {"name": form["name"].strip(), "start": form["start"], "end": form["end"],
                            "days": [int(d) for d in form["days"] if d.isdigit() and len(d) == 1],
                            "direction": form["direction"], "hours": form["hours"]}
    for key in SHIFT_NUMBERS:
        data[key] = _number(form[key] or "0", int)
    for key in SHIFT_OPTIONAL:
        data[key] = _number(form[key], float if key.endswith("hours") else int) if form[key].strip() else None
    for key in SHIFT_SWITCHES:
        data[key] = bool(form[key])
    return ShiftRulesIn.model_validate(data)


def _store_shift(store: Store, who: auth.Principal, body: ShiftRulesIn, shift_id: int | None) -> None:
    values = body.settings() | {"actor": who.actor}
    if shift_id is None:
        attendance.create_shift(store, **values)
    else:
        attendance.update_shift(store, shift_id, **values)


@router.post(PAGE + "/shifts", response_class=HTMLResponse)
@router.post(PAGE + "/shifts/{shift_id}", response_class=HTMLResponse)
def save_shift(
    request: Request, who: Viewer, store: Store, shift_id: str = "",
    csrf: str = Form("", max_length=100), name: str = Form("", max_length=_TEXT),
    start: str = Form("", max_length=8), end: str = Form("", max_length=8),
    days: Annotated[list[str] | None, Form()] = None,
    grace_in_minutes: str = Form("", max_length=8), grace_out_minutes: str = Form("", max_length=8),
    overtime_after_minutes: str = Form("", max_length=8), checkin_before_start_min: str = Form("", max_length=8),
    checkout_after_end_min: str = Form("", max_length=8), half_day_below_hours: str = Form("", max_length=8),
    absent_below_hours: str = Form("", max_length=8), direction: str = Form("typed", max_length=16),
    hours: str = Form("pairs", max_length=16), late_marking: str = Form("", max_length=4),
    early_marking: str = Form("", max_length=4), mark_on_holidays: str = Form("", max_length=4),
) -> Response:
    """A new shift (no id) or every setting of an existing one."""
    if who is None:
        return to_login()
    refused = _refusal(request, store, who, csrf)
    if refused is not None:
        return refused
    editing = "shift_id" in request.path_params  # only the path names a shift (never ?shift_id= on a create)
    target = _row_id(shift_id) if editing else None
    if editing and target is None:
        return _page(request, store, who, 404, error="hr.rules.invalid", detail=shift_id)
    form = {k: v for k, v in locals().items()
            if k not in ("request", "who", "store", "csrf", "refused", "target", "editing", "shift_id")}
    form["id"], form["days"] = target, days or []

    def work() -> Response:
        _store_shift(store, who, _shift_body(form), target)
        return _saved("shift", "shifts")

    return _attempt(request, store, who, form, work)


# --- assignments -----------------------------------------------------------------------------


def _day_or_none(text: str) -> str | None:
    return text.strip() or None


@router.post(PAGE + "/assignments", response_class=HTMLResponse)
def assign(
    request: Request, who: Viewer, store: Store, csrf: str = Form("", max_length=100),
    employee_no: str = Form("", max_length=64), shift_id: str = Form("", max_length=20),
    valid_from: str = Form("", max_length=10), valid_to: str = Form("", max_length=10),
) -> Response:
    if who is None:
        return to_login()
    refused = _refusal(request, store, who, csrf)
    if refused is not None:
        return refused
    form = {"employee_no": employee_no, "shift_id": shift_id, "valid_from": valid_from, "valid_to": valid_to}

    def work() -> Response:
        body = ShiftAssignRangeIn.model_validate(
            {"shift_id": _number(shift_id, int), "valid_from": valid_from, "valid_to": _day_or_none(valid_to)})
        attendance.assign_shift(store, employee_no.strip(), body.shift_id, body.valid_from, who.actor, body.valid_to)
        return _saved("assignment", "assignments")

    return _attempt(request, store, who, form, work)


# --- holiday calendars -----------------------------------------------------------------------


@router.post(PAGE + "/calendars", response_class=HTMLResponse)
def create_calendar(
    request: Request, who: Viewer, store: Store, csrf: str = Form("", max_length=100),
    name: str = Form("", max_length=_TEXT), is_default: str = Form("", max_length=4),
) -> Response:
    if who is None:
        return to_login()
    refused = _refusal(request, store, who, csrf)
    if refused is not None:
        return refused

    def work() -> Response:
        body = CalendarIn.model_validate({"name": name.strip(), "is_default": bool(is_default)})
        attendance_plan.create_calendar(store, body.name, body.is_default, who.actor)
        return _saved("calendar", "calendars")

    return _attempt(request, store, who, {"calendar_name": name}, work)


@router.post(PAGE + "/calendars/{calendar_id}/holidays", response_class=HTMLResponse)
def holiday(
    request: Request, calendar_id: str, who: Viewer, store: Store, csrf: str = Form("", max_length=100),
    day: str = Form("", max_length=10), name: str = Form("", max_length=_TEXT), remove: str = Form("", max_length=4),
) -> Response:
    """Add (or rename) a dated holiday, or remove one (``remove`` set)."""
    if who is None:
        return to_login()
    refused = _refusal(request, store, who, csrf)
    if refused is not None:
        return refused
    target = _row_id(calendar_id)
    if target is None:
        return _page(request, store, who, 404, error="hr.rules.invalid", detail=calendar_id)

    def work() -> Response:
        body = HolidayIn.model_validate({"name": name.strip()})
        attendance_plan.set_holiday(store, target, _iso_day(day), body.name, who.actor, remove=bool(remove))
        return _saved("holiday", f"calendar-{target}")

    return _attempt(request, store, who, {"holiday_day": day, "holiday_name": name}, work)


def _iso_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not a date.", "Give the day as YYYY-MM-DD.") from None


@router.post(PAGE + "/calendar-members", response_class=HTMLResponse)
def calendar_member(
    request: Request, who: Viewer, store: Store, csrf: str = Form("", max_length=100),
    employee_no: str = Form("", max_length=64), site: str = Form("", max_length=_TEXT),
    calendar_id: str = Form("", max_length=20),
) -> Response:
    """The calendar of one employee (``employee_no``) or of a site (``site``); blank calendar: the default."""
    if who is None:
        return to_login()
    refused = _refusal(request, store, who, csrf)
    if refused is not None:
        return refused
    chosen = _row_id(calendar_id)

    def work() -> Response:
        if site.strip():
            attendance_plan.set_site_calendar(store, site, chosen, who.actor)
        else:
            attendance_plan.set_employee_calendar(store, employee_no.strip(), chosen, who.actor)
        return _saved("calendar-member", "calendars")

    return _attempt(request, store, who, {"member": employee_no, "site": site}, work)


# --- leave and manual attendance -------------------------------------------------------------


@router.post(PAGE + "/manual", response_class=HTMLResponse)
def add_manual(
    request: Request, who: Viewer, store: Store, csrf: str = Form("", max_length=100),
    employee_no: str = Form("", max_length=64), day: str = Form("", max_length=10),
    status: str = Form("", max_length=16), shift_id: str = Form("", max_length=20),
    reason: str = Form("", max_length=500),
) -> Response:
    if who is None:
        return to_login()
    refused = _refusal(request, store, who, csrf)
    if refused is not None:
        return refused
    form = {"manual_employee": employee_no, "manual_day": day, "manual_status": status, "manual_shift": shift_id,
            "reason": reason}

    def work() -> Response:
        body = ManualIn.model_validate({"employee_no": employee_no.strip(), "day": day, "status": status,
                                        "shift_id": _number(shift_id, int) if shift_id else None,
                                        "reason": reason.strip()})
        attendance_plan.add_manual(store, employee_no=body.employee_no, day=body.day, status=body.status,
                                   reason=body.reason, actor=who.actor, shift_id=body.shift_id)
        return _saved("manual", "manual")

    return _attempt(request, store, who, form, work)
