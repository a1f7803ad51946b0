"""Hours this week for the kiosk card, computed on the terminal from its own punches: a courtesy figure
for the person at the screen. HR's timesheet (sync/server/timesheets.py: shifts, windows, corrections
from every device, rounding) is authoritative; this figure may differ from it.

The rule, simple on purpose:
- the week runs from Monday 00:00 in the site's time zone up to the punch just made;
- the person's punches on THIS terminal in that span, in time order, without those voided at its panel;
- an ``in`` opens a pair (a second ``in`` while one is open starts it again from the later one); an
  ``out`` closes the open pair and adds the time between them; an ``out`` with no open ``in`` adds
  nothing, and an ``in`` still open (e.g. the punch just made) adds nothing yet;
- the sum is in whole minutes, rounded down, shown as hours with one decimal, rounded down.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from device.store import Store
from device.store.week_punches import punches_between


def week_start(at: datetime) -> datetime:
    """Monday 00:00 of ``at``'s week, in ``at``'s own zone (the site's: the kiosk's local time)."""
    return datetime.combine(at.date() - timedelta(days=at.weekday()), time(0), at.tzinfo)


def paired_minutes(punches: Sequence[tuple[str, int]]) -> int:
    """Whole minutes inside in..out pairs of (direction, epoch ms) punches in time order."""
    total_ms = 0
    opened: int | None = None
    for direction, at_ms in punches:
        if direction == "in":
            opened = at_ms
        elif opened is not None:
            total_ms += max(0, at_ms - opened)
            opened = None
    return total_ms // 60_000


def week_minutes(store: Store, employee_no: str, at: datetime) -> int:
    """Minutes ``employee_no`` worked this week up to ``at`` (aware, the site's local time), by the rule above."""
    start = week_start(at)
    # A second of slack: the punch just made carries ``at`` in milliseconds, however it was rounded.
    return paired_minutes(punches_between(store, employee_no, int(start.timestamp() * 1000),
                                          int(at.timestamp() * 1000) + 1000))


def hours_text(minutes: int) -> str:
    """Hours with one decimal, rounded down (never more than worked): 510 min -> "8.5"."""
    return f"{minutes // 6 / 10:.1f}"
