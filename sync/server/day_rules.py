"""One timesheet day from its punches: directions, pairing, hours, late/early/overtime, status.

Pure; the order of the checks is the one README's operator's guide lists (and ``status_of`` follows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, Protocol, TypeVar

from sync.server.shift_model import Manual, Shift, Slot

Direction = Literal["in", "out"]
DUPLICATE_WINDOW = timedelta(minutes=1)


class Punch(Protocol):
    @property
    def direction(self) -> Direction | None: ...
    @property
    def at(self) -> datetime: ...


P = TypeVar("P", bound=Punch)


@dataclass(frozen=True)
class Worked:
    directions: tuple[Direction, ...]  # the direction each kept punch counts as
    minutes: int
    first_in: datetime | None
    last_out: datetime | None
    missing: bool  # an in after an in, or an out without an in
    open_in: bool  # an in not yet closed at the end


def collapse_duplicates(punches: Sequence[P], alternate: bool = False) -> list[P]:
    """Drop a punch less than a minute after the previous kept one in the same direction (any direction
    when directions alternate: a double scan)."""
    kept: list[P] = []
    for p in punches:
        if kept and (alternate or kept[-1].direction == p.direction) and p.at - kept[-1].at < DUPLICATE_WINDOW:
            continue
        kept.append(p)
    return kept


def minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def directions(punches: Sequence[Punch], shift: Shift | None) -> list[Direction]:
    """Alternate: in, out, in, ... by time. Typed: the punch's own; an untyped punch is an in when no in
    is open, else an out."""
    result: list[Direction] = []
    is_open = False
    for i, p in enumerate(punches):
        if shift is not None and shift.direction == "alternate":
            d: Direction = "in" if i % 2 == 0 else "out"
        else:
            d = p.direction or ("out" if is_open else "in")
        result.append(d)
        is_open = d == "in"
    return result


def worked(punches: Sequence[Punch], shift: Shift | None) -> Worked:
    dirs = directions(punches, shift)
    total = timedelta()
    missing = False
    open_at: datetime | None = None
    for p, d in zip(punches, dirs, strict=True):
        if d == "in":
            if open_at is not None:
                missing = True  # a second in: the earlier one still counts (Frappe pairs from it too)
            else:
                open_at = p.at
        elif open_at is not None:
            total += p.at - open_at
            open_at = None
        else:
            missing = True
    ins = [p.at for p, d in zip(punches, dirs, strict=True) if d == "in"]
    outs = [p.at for p, d in zip(punches, dirs, strict=True) if d == "out"]
    first_in, last_out = (min(ins) if ins else None), (max(outs) if outs else None)
    if shift is not None and shift.hours == "first_last":
        total = last_out - first_in if first_in and last_out and last_out > first_in else timedelta()
    return Worked(tuple(dirs), minutes(total), first_in, last_out, missing, open_at is not None)


@dataclass(frozen=True)
class Marks:
    late: int  # minutes after the start, 0 when not late
    early: int  # minutes before the end, 0 when not early
    overtime: int


def marks(slot: Slot, w: Worked, working_day: bool) -> Marks:
    """Late: first in strictly after start + grace (counted from the start); early: last out strictly
    before end - grace (counted to the end); overtime: worked minutes beyond the shift's length when the
    excess is above the threshold; on a rest day or holiday every worked minute is overtime."""
    shift = slot.shift
    if shift is None:
        return Marks(0, 0, 0)
    if not working_day:
        return Marks(0, 0, w.minutes)
    late = early = overtime = 0
    grace_in, grace_out = timedelta(minutes=shift.grace_in_minutes), timedelta(minutes=shift.grace_out_minutes)
    if shift.late_marking and w.first_in is not None and w.first_in - slot.start > grace_in:
        late = minutes(w.first_in - slot.start)
    if shift.early_marking and w.last_out is not None and slot.end - w.last_out > grace_out:
        early = minutes(slot.end - w.last_out)
    excess = w.minutes - minutes(shift.length)
    if excess > shift.overtime_after_minutes:
        overtime = excess
    return Marks(late, early, overtime)


def status_of(
    slot: Slot, w: Worked, has_punches: bool, manual: Manual | None, holiday: bool, finalised: bool
) -> str:
    """The day's status, checks in this order (the first that applies wins)."""
    shift = slot.shift
    if manual is not None:
        return manual.status  # 1. HR's leave or manual record
    if shift is None:
        return "present" if has_punches else "rest_day"  # 2. nothing planned: no absence
    if holiday and not (shift.mark_on_holidays and has_punches):
        return "holiday"  # 3. a holiday (attendance marked only when the shift says so and punches exist)
    if not shift.runs_on(slot.day):
        return "rest_day"  # 4. a weekday the shift does not run
    if not finalised:
        return "open"  # 5. punches may still come
    if not has_punches:
        return "absent"  # 6.
    if shift.absent_below_hours is not None and w.minutes < shift.absent_below_hours * 60:
        return "absent"  # 7. worked strictly below the absent threshold
    if shift.half_day_below_hours is not None and w.minutes < shift.half_day_below_hours * 60:
        return "half_day"  # 8. strictly below the half-day threshold
    return "present"  # 9.


def working_day(slot: Slot, day: date, holiday: bool) -> bool:
    shift = slot.shift
    return shift is not None and shift.runs_on(day) and (not holiday or shift.mark_on_holidays)
