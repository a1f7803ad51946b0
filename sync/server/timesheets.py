"""Timesheets from punches: pure functions, no database, no clock of their own.

Rows per employee per work day (one per planned shift; one for a day with none) in the server's time
zone, from (plan: shifts, assignments, holidays, manual/leave records; punches; corrections; the moment
of computation). The rules, in the order they apply (README's operator's guide says them for HR):

1. Corrections: ``void`` removes a punch, ``add`` adds one, ``change`` does both (new time and/or
   direction); the original punch stays in the store for audit, only the timesheet uses the result.
2. Attachment (``shift_model.Attacher``): a punch belongs to the shift slot whose check-in/check-out
   window holds it (edges inclusive; nearest shift hours on overlap, ties to the earlier slot); a shift
   without windows set uses half the off-duty gap each side (09:00-18:00 -> 01:30 .. 01:30 next day).
   Outside every window it goes to its calendar day only if that day has no shift planned; else it is
   listed as unattached. No punch is ever dropped.
3. Duplicates: a punch in the same direction (any, when directions alternate) less than a minute after
   the previous kept one is dropped from the day's pairing (it stays listed with the day).
4. Directions and hours (``day_rules``): typed or alternating; in..out pairs, or first in to last out.
   An in after an in keeps the earlier in and flags a missing punch, as does an out without an in.
5. Late / early / overtime in whole minutes (rounded down); status: manual record, no shift, holiday,
   rest day, open (not final yet), absent, absent-below, half-day-below, present.
6. A punch taken while the device clock was not synchronised flags the day: its times may be wrong.

One bad row never breaks a report: a punch or correction whose time lies outside the sane window
(``sync.protocol.times``: 2000-01-01 .. 2100-01-01 UTC; stored before that window was enforced, or sent
by a broken device) is left out of every day and logged, instead of failing the whole timesheet (such a
time may not even be representable once turned into the server's zone). A correction left out leaves
its punch as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sync.protocol.times import SaneInstant as SaneInstant
from sync.protocol.times import from_unix_ms as from_unix_ms
from sync.protocol.times import in_window as in_window
from sync.server import day_rules, finality
from sync.server.shift_model import Attacher, Plan, Slot, slots_on

# Handed on: the model's names are imported from here by the store, the API and the tests.
from sync.server.shift_model import Shift as Shift

log = logging.getLogger(__name__)

Direction = Literal["in", "out"]
DUPLICATE_WINDOW = day_rules.DUPLICATE_WINDOW

# Flag codes (stable: the CSV, the API and the pages' translations use them).
LATE, EARLY_LEAVE, OVERTIME, ABSENT = "late", "early-leave", "overtime", "absent"
MISSING_PUNCH, CLOCK_UNSYNCED, CORRECTED, REST_DAY, IN_PROGRESS = (
    "missing-punch",
    "clock-unsynced",
    "corrected",
    "rest-day",
    "in-progress",
)
HOLIDAY, MANUAL = "holiday", "manual"
#: Past its window by the server's clock, but a device that could hold punches has not synced that far.
SYNC_PENDING = "sync-pending"


@dataclass(frozen=True)
class TimedPunch:
    uid: str
    direction: Direction | None  # None: untyped (the shift's direction rule decides)
    at: datetime  # aware
    clock_synced: bool = True
    device_id: str = ""


@dataclass(frozen=True)
class Correction:
    id: int
    action: Literal["add", "void", "change"]
    punch_uid: str | None = None  # the punch voided or changed
    direction: Direction | None = None  # for add/change (change: None keeps the original's)
    at: datetime | None = None  # for add/change (change: None keeps the original's)
    reason: str = ""


@dataclass(frozen=True)
class DayRow:
    employee_no: str
    day: date
    shift: str | None
    scheduled: bool
    first_in: datetime | None
    last_out: datetime | None
    worked_minutes: int
    late_minutes: int
    early_leave_minutes: int
    overtime_minutes: int
    absent: bool
    missing_punch: bool
    flags: tuple[str, ...]
    punches: tuple[TimedPunch, ...] = field(default=())  # effective punches of the day, in time order
    status: str = "present"  # one of shift_model.STATUSES
    finalised: bool = True
    held_by: tuple[str, ...] = ()  # devices not yet synced past the window (``finality``): why it is open

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(sorted({p.device_id for p in self.punches if p.device_id}))

    @property
    def worked_hours(self) -> float:
        return round(self.worked_minutes / 60, 2)


@dataclass(frozen=True)
class Attached:
    """Where one effective punch went: its slot's (day, shift name), or None when unattached."""

    punch: TimedPunch
    slot: tuple[date, str | None] | None


@dataclass(frozen=True)
class Sheet:
    rows: list[DayRow]
    placements: list[Attached]  # every effective punch, in time order

    @property
    def unattached(self) -> list[TimedPunch]:
        return [a.punch for a in self.placements if a.slot is None]


def apply_corrections(
    punches: Iterable[TimedPunch], corrections: Iterable[Correction]
) -> tuple[list[TimedPunch], list[datetime]]:
    """The punches a timesheet uses, and the times touched by corrections (to flag their days)."""
    by_uid = {p.uid: p for p in punches if _placeable(p.at, f"punch {p.uid}")}
    touched: list[datetime] = []
    for c in sorted(corrections, key=lambda c: c.id):
        if c.at is not None and not _placeable(c.at, f"correction {c.id}"):
            continue  # left out whole: a "change" must not keep half of itself
        original = by_uid.pop(c.punch_uid, None) if c.action in ("void", "change") and c.punch_uid else None
        if original is not None:
            touched.append(original.at)
        if c.action == "add" or (c.action == "change" and original is not None):
            direction = c.direction or (original.direction if original else None)
            at = c.at or (original.at if original else None)
            if direction is None or at is None:
                continue  # an add without a time or direction has nothing to add (validated at the API)
            synced = True if c.at is not None or original is None else original.clock_synced
            by_uid[f"correction:{c.id}"] = TimedPunch(f"correction:{c.id}", direction, at, synced, "correction")
            touched.append(at)
    return sorted(by_uid.values(), key=lambda p: (p.at, p.uid)), touched


def _placeable(moment: datetime, what: str) -> bool:
    """Whether ``moment`` can be placed on a work day; logs the row that cannot (see the module doc)."""
    if moment.tzinfo is not None and in_window(moment):
        return True
    log.warning("timesheets: %s left out: its time %s is outside the sane window", what, moment.isoformat())
    return False


def collapse_duplicates(punches: list[TimedPunch]) -> list[TimedPunch]:
    kept: list[TimedPunch] = []
    for p in punches:
        if kept and kept[-1].direction == p.direction and p.at - kept[-1].at < DUPLICATE_WINDOW:
            continue
        kept.append(p)
    return kept


def compute(
    employee_no: str,
    first: date,
    last: date,
    punches: Iterable[TimedPunch],
    corrections: Iterable[Correction],
    plan: Plan,
    tz: ZoneInfo,
    now: datetime,
    holders: finality.Holders | None = None,
) -> Sheet:
    """Rows for every slot of every day from ``first`` to ``last`` inclusive, and where each punch went.
    ``now``: the server's clock; ``holders``: the devices that could hold the employee's punches, with
    their synced-through watermarks (``finality``). A day is final once ``now`` is past its check-out
    window and every holder is synced past it; without ``holders`` every punch counts as known up to ``now``."""
    return _compute(employee_no, first, last, punches, corrections, plan, plan.shifts_on, tz, now, holders)


def timesheet(
    employee_no: str,
    first: date,
    last: date,
    punches: Iterable[TimedPunch],
    corrections: Iterable[Correction],
    shift_for: Callable[[date], Shift | None],
    tz: ZoneInfo,
    now: datetime,
) -> list[DayRow]:
    """The rows with one shift (or none) per day, as ``shift_for`` says (no holidays or manual records)."""

    def shifts_on(day: date) -> list[Shift]:
        shift = shift_for(day)
        return [shift] if shift else []

    return _compute(employee_no, first, last, punches, corrections, Plan(), shifts_on, tz, now).rows


def _compute(
    employee_no: str,
    first: date,
    last: date,
    punches: Iterable[TimedPunch],
    corrections: Iterable[Correction],
    plan: Plan,
    shifts_on: Callable[[date], Sequence[Shift]],
    tz: ZoneInfo,
    now: datetime,
    holders: finality.Holders | None = None,
) -> Sheet:
    effective, touched = apply_corrections(punches, corrections)
    attacher = Attacher(shifts_on, tz)
    placements: list[Attached] = []
    per_slot: dict[tuple[date, str | None], list[TimedPunch]] = {}
    for p in effective:
        slot = attacher.attach(p.at)
        placements.append(Attached(p, slot.key if slot else None))
        if slot is not None:
            per_slot.setdefault(slot.key, []).append(p)
    corrected = {s.key for s in (attacher.attach(t) for t in touched) if s is not None}
    rows: list[DayRow] = []
    day = first
    while day <= last:
        for slot in attacher.slots(day):
            punches_of = per_slot.get(slot.key, [])
            rows.append(_day_row(employee_no, slot, punches_of, plan, slot.key in corrected, now, holders))
        day += timedelta(days=1)
    return Sheet(rows, placements)


def _day_row(
    employee_no: str,
    slot: Slot,
    punches: list[TimedPunch],
    plan: Plan,
    corrected: bool,
    now: datetime,
    holders: finality.Holders | None,
) -> DayRow:
    shift, day = slot.shift, slot.day
    alternate = shift is not None and shift.direction == "alternate"
    kept = day_rules.collapse_duplicates(punches, alternate)
    holiday = day in plan.holidays
    manual = plan.manual_for(day, shift.name if shift else None)
    held = holders.holding(slot.window[1]) if holders is not None and manual is None else ()
    finalised = finality.final(slot.window[1], now, held, manual is not None)
    w = day_rules.worked(kept, shift)
    working = day_rules.working_day(slot, day, holiday)
    m = day_rules.marks(slot, w, working)
    if manual is not None:
        m = day_rules.Marks(0, 0, 0)
    status = day_rules.status_of(slot, w, bool(kept), manual, holiday, finalised)
    in_progress = w.open_in and not finalised
    missing = w.missing or (w.open_in and finalised)
    off_day = shift is not None and not working and bool(kept)
    flags = [
        code
        for code, on in (
            (LATE, m.late > 0),
            (EARLY_LEAVE, m.early > 0),
            (OVERTIME, m.overtime > 0),
            (ABSENT, status == "absent"),
            (MISSING_PUNCH, missing),
            (IN_PROGRESS, in_progress),
            (REST_DAY, off_day and not holiday),
            (HOLIDAY, off_day and holiday),
            (CLOCK_UNSYNCED, any(not p.clock_synced for p in kept)),
            (CORRECTED, corrected),
            (MANUAL, manual is not None),
            (SYNC_PENDING, bool(held) and now > slot.window[1]),
        )
        if on
    ]
    return DayRow(
        employee_no=employee_no,
        day=day,
        shift=shift.name if shift else None,
        scheduled=working,
        first_in=w.first_in,
        last_out=w.last_out,
        worked_minutes=w.minutes,
        late_minutes=m.late,
        early_leave_minutes=m.early,
        overtime_minutes=m.overtime,
        absent=status == "absent",
        missing_punch=missing,
        flags=tuple(flags),
        punches=tuple(punches),
        status=status,
        finalised=finalised,
        held_by=held if not finalised and now > slot.window[1] else (),  # a day not over is open anyway
    )


def day_span(day: date, shift: Shift | None, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The window of ``shift`` on ``day`` (a calendar day without a shift)."""
    (slot,) = slots_on(day, [shift] if shift else [], tz)
    return slot.window


def row_json(row: DayRow, tz: ZoneInfo) -> dict[str, object]:
    """A row as JSON-ready values; times in the server's zone with their offset."""

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat() if moment else None

    return {
        "employee_no": row.employee_no,
        "day": row.day.isoformat(),
        "shift": row.shift,
        "scheduled": row.scheduled,
        "first_in": local(row.first_in),
        "last_out": local(row.last_out),
        "worked_minutes": row.worked_minutes,
        "late_minutes": row.late_minutes,
        "early_leave_minutes": row.early_leave_minutes,
        "overtime_minutes": row.overtime_minutes,
        "absent": row.absent,
        "missing_punch": row.missing_punch,
        "status": row.status,
        "finalised": row.finalised,
        "held_by": list(row.held_by),
        "worked_hours": row.worked_hours,
        "late": row.late_minutes > 0,
        "early": row.early_leave_minutes > 0,
        "flags": list(row.flags),
        "devices": list(row.devices),
        "punches": [
            {
                "uid": p.uid,
                "direction": p.direction,
                "at": local(p.at),
                "clock_synced": p.clock_synced,
                "device_id": p.device_id,
            }
            for p in row.punches
        ],
    }
