"""The contract form of timesheets: one self-contained JSON case in, one JSON result out
(``edgehr timesheets compute FILE.jsonl --json``; the fields are listed in README's operator's guide).

Times are local wall-clock ISO strings without an offset ("2026-03-02T08:58:00"); they are computed in
a zone without daylight saving, so every local day has 24 hours. Weekdays are 0 (Monday) .. 6 (Sunday).
A case that cannot be read gives ``{"id", "line", "error"}`` and the other lines go on.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sync.server.shift_model import ALL_WEEKDAYS, MANUAL_STATUSES, Assignment, Manual, Plan, Shift
from sync.server.timesheets import DayRow, TimedPunch, compute

LOCAL = ZoneInfo("UTC")  # the cases' local time: no daylight saving
DEFAULT_WINDOW_MIN = 60  # Frappe HRMS's default for both "begin check-in before" and "allow check-out after"


class CaseError(ValueError):
    """What is wrong with a case, in words for its author."""


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ..., what: str = "") -> Any:
    if key not in obj or obj[key] is None:
        if default is ...:
            raise CaseError(f"{what}{key!r} is missing")
        return default
    value = obj[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)) or not isinstance(value, kind):
        raise CaseError(f"{what}{key!r} has the wrong type ({type(value).__name__})")
    return value


def _minutes(obj: dict[str, Any], key: str, default: int, what: str) -> int:
    value = int(_get(obj, key, int, default, what))
    if not 0 <= value <= 720:
        raise CaseError(f"{what}{key!r} must be 0..720 minutes, not {value}")
    return value


def _hours(obj: dict[str, Any], key: str, what: str) -> float | None:
    value = _get(obj, key, (int, float), None, what)
    if value is not None and not 0 <= value <= 24:
        raise CaseError(f"{what}{key!r} must be 0..24 hours, not {value}")
    return None if value is None else float(value)


def _clock(text: str, what: str) -> time:
    try:
        parsed = time.fromisoformat(text)
    except ValueError as exc:
        raise CaseError(f"{what} {text!r} is not HH:MM") from exc
    return parsed.replace(second=0, microsecond=0)


def _day(text: Any, what: str) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError as exc:
        raise CaseError(f"{what} {text!r} is not a YYYY-MM-DD date") from exc


def _moment(text: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise CaseError(f"{what} {text!r} is not a local ISO time") from exc
    if parsed.tzinfo is not None:
        raise CaseError(f"{what} {text!r} has an offset; give local time without one")
    return parsed.replace(tzinfo=LOCAL)


def _choice(obj: dict[str, Any], key: str, choices: tuple[str, ...], what: str) -> str:
    value = str(_get(obj, key, str, choices[0], what))
    if value not in choices:
        raise CaseError(f"{what}{key!r} must be one of {', '.join(choices)}, not {value!r}")
    return value


def parse_shift(obj: Any) -> Shift:
    if not isinstance(obj, dict):
        raise CaseError("a shift is not an object")
    name = str(_get(obj, "name", str, what="shift "))
    what = f"shift {name!r}: "
    start = _clock(_get(obj, "start", str, what=what), what + "start")
    end = _clock(_get(obj, "end", str, what=what), what + "end")
    if start == end:
        raise CaseError(f"{what}start and end are the same time")
    weekdays = _get(obj, "weekdays", list, None, what)
    if weekdays is not None and any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in weekdays):
        raise CaseError(f"{what}'weekdays' must be numbers 0 (Monday) .. 6 (Sunday)")
    return Shift(
        name=name,
        start=start,
        end=end,
        grace_in_minutes=_minutes(obj, "late_grace_min", 0, what),
        grace_out_minutes=_minutes(obj, "early_grace_min", 0, what),
        overtime_after_minutes=_minutes(obj, "overtime_after_min", 0, what),
        days=ALL_WEEKDAYS if weekdays is None else frozenset(d + 1 for d in weekdays),
        checkin_before_start_min=_minutes(obj, "checkin_before_start_min", DEFAULT_WINDOW_MIN, what),
        checkout_after_end_min=_minutes(obj, "checkout_after_end_min", DEFAULT_WINDOW_MIN, what),
        late_marking=bool(_get(obj, "late_marking", bool, True, what)),
        early_marking=bool(_get(obj, "early_marking", bool, True, what)),
        half_day_below_hours=_hours(obj, "half_day_below_hours", what),
        absent_below_hours=_hours(obj, "absent_below_hours", what),
        direction="alternate" if _choice(obj, "direction", ("typed", "alternate"), what) == "alternate" else "typed",
        hours="first_last" if _choice(obj, "hours", ("pairs", "first_last"), what) == "first_last" else "pairs",
        mark_on_holidays=bool(_get(obj, "mark_on_holidays", bool, False, what)),
    )


def _manual_status(value: Any) -> str:
    status = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    status = {"leave": "on_leave"}.get(status, status)
    if status not in MANUAL_STATUSES:
        raise CaseError(f"manual status {value!r} must be one of {', '.join(MANUAL_STATUSES)}")
    return status


def parse_plan(case: dict[str, Any]) -> Plan:
    shifts: dict[str, Shift] = {}
    for obj in _get(case, "shifts", list, []):
        shift = parse_shift(obj)
        if shift.name in shifts:
            raise CaseError(f"two shifts are named {shift.name!r}")
        shifts[shift.name] = shift

    def named(name: Any, what: str) -> Shift:
        if name not in shifts:
            raise CaseError(f"{what} names shift {name!r}, which is not in 'shifts'")
        return shifts[name]

    assignments = []
    for a in _get(case, "assignments", list, []):
        if not isinstance(a, dict):
            raise CaseError("an assignment is not an object")
        first = _day(a.get("from"), "assignment 'from'")
        last = None if a.get("to") is None else _day(a["to"], "assignment 'to'")
        if last is not None and last < first:
            raise CaseError(f"an assignment ends ({last}) before it starts ({first})")
        assignments.append(Assignment(named(a.get("shift"), "an assignment"), first, last))
    default = case.get("default_shift")
    defaults = () if default is None else ((date.min, named(default, "'default_shift'")),)
    manual = []
    for m in _get(case, "manual", list, []):
        if not isinstance(m, dict):
            raise CaseError("a manual record is not an object")
        shift_name = m.get("shift")
        if shift_name is not None:
            named(shift_name, "a manual record")
        manual.append(Manual(_day(m.get("date"), "manual 'date'"), _manual_status(m.get("status")), shift_name))
    holidays = frozenset(_day(h, "holiday") for h in _get(case, "holidays", list, []))
    return Plan(tuple(assignments), defaults, holidays, tuple(manual))


def _local(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL).replace(tzinfo=None).isoformat() if moment else None


def _day_json(row: DayRow) -> dict[str, Any]:
    return {
        "date": row.day.isoformat(),
        "shift": row.shift,
        "status": row.status,
        "finalised": row.finalised,
        "late": row.late_minutes > 0,
        "late_minutes": row.late_minutes,
        "early": row.early_leave_minutes > 0,
        "early_minutes": row.early_leave_minutes,
        "worked_hours": row.worked_hours,
        "overtime_minutes": row.overtime_minutes,
        "first_in": _local(row.first_in),
        "last_out": _local(row.last_out),
        "flags": list(row.flags),
    }


def compute_case(case: Any) -> dict[str, Any]:
    """One input case -> its result (raises CaseError when the case cannot be read)."""
    if not isinstance(case, dict):
        raise CaseError("the line is not a JSON object")
    plan = parse_plan(case)
    first, last = _day(case.get("from"), "'from'"), _day(case.get("to"), "'to'")
    if last < first or (last - first).days > 366:
        raise CaseError(f"the range {first}..{last} is empty or longer than 367 days")
    now = _moment(case.get("now"), "'now'")
    given = []
    for i, p in enumerate(_get(case, "punches", list, [])):
        if not isinstance(p, dict):
            raise CaseError(f"punch {i} is not an object")
        direction = p.get("dir")
        if direction not in ("in", "out", None):
            raise CaseError(f"punch {i}: 'dir' must be \"in\", \"out\" or null, not {direction!r}")
        given.append((_moment(p.get("time"), f"punch {i} 'time'"), direction or ""))
    # Identifiers by (time, direction) rank: the input's order never changes a result.
    rank = {i: n for n, i in enumerate(sorted(range(len(given)), key=lambda i: given[i]))}
    punches = [TimedPunch(f"p{rank[i]:06d}", d or None, at) for i, (at, d) in enumerate(given)]  # type: ignore[arg-type]
    sheet = compute(str(case.get("id", "")), first, last, punches, [], plan, LOCAL, now)
    where = {a.punch.uid: a.slot for a in sheet.placements}
    placed = []
    for p in punches:
        slot = where.get(p.uid)  # absent: outside 2000..2100, left out of every day, still listed
        placed.append({"time": _local(p.at), "shift": slot[1] if slot else None,
                       "date": slot[0].isoformat() if slot else None})
    return {"id": case.get("id"), "days": [_day_json(r) for r in sheet.rows], "punches": placed}


def compute_line(text: str, number: int) -> dict[str, Any]:
    """One line of a JSONL file -> its output object (an error object when it cannot be computed)."""
    case_id = None
    try:
        case = json.loads(text)
        case_id = case.get("id") if isinstance(case, dict) else None
        return compute_case(case)
    except json.JSONDecodeError as exc:
        return {"id": None, "line": number, "error": f"not JSON: {exc.msg} at column {exc.colno}"}
    except (CaseError, OverflowError) as exc:
        return {"id": case_id, "line": number, "error": str(exc)}


def now_utc() -> datetime:
    return datetime.now(UTC)
