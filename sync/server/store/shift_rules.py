"""The shift settings beyond start, end, weekdays, grace and overtime (check-in/out windows, marking,
thresholds, direction and hours rules, holidays): their columns, checks and the model they make."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import time
from typing import Any, Literal

from core.errors import InputError
from sync.server.shift_model import Shift
from sync.server.store.database import Tx

RULE_COLUMNS = (
    "checkin_before_start_min",
    "checkout_after_end_min",
    "late_marking",
    "early_marking",
    "half_day_below_hours",
    "absent_below_hours",
    "direction",
    "hours_mode",
    "mark_on_holidays",
)


@dataclass(frozen=True)
class ShiftRules:
    """Defaults keep a shift as it was before these settings existed."""

    checkin_before_start_min: int | None = None  # None: half the off-duty gap
    checkout_after_end_min: int | None = None
    late_marking: bool = True
    early_marking: bool = True
    half_day_below_hours: float | None = None
    absent_below_hours: float | None = None
    direction: Literal["typed", "alternate"] = "typed"
    hours_mode: Literal["pairs", "first_last"] = "pairs"
    mark_on_holidays: bool = False

    def check(self) -> None:
        for minutes in (self.checkin_before_start_min, self.checkout_after_end_min):
            if minutes is not None and not 0 <= minutes <= 720:
                raise InputError(f"A window of {minutes} minutes is out of range.", "Use 0 to 720 minutes.")
        for hours in (self.half_day_below_hours, self.absent_below_hours):
            if hours is not None and not 0 <= hours <= 24:
                raise InputError(f"A threshold of {hours} hours is out of range.", "Use 0 to 24 hours.")
        if self.direction not in ("typed", "alternate") or self.hours_mode not in ("pairs", "first_last"):
            raise InputError("Unknown direction or hours rule.", "direction: typed|alternate; hours: pairs|first_last.")

    def values(self) -> tuple[Any, ...]:
        row = astuple(self)
        return tuple(int(v) if isinstance(v, bool) else v for v in row)


def read_shifts(tx: Tx) -> list[dict[str, Any]]:
    rows = tx.execute(
        "SELECT id, name, start_time, end_time, grace_in_minutes, grace_out_minutes, overtime_after_minutes, days, "  # noqa: S608 - fixed column names
        + ", ".join(RULE_COLUMNS)
        + " FROM shifts ORDER BY id"  # fixed column names
    ).dicts()
    for row in rows:
        row["days"] = [int(d) for d in row["days"].split(",")]
        for key in ("late_marking", "early_marking", "mark_on_holidays"):
            row[key] = bool(row[key])
    return rows


def shift_model(row: dict[str, Any]) -> Shift:
    return Shift(
        name=row["name"],
        start=time.fromisoformat(row["start_time"]),
        end=time.fromisoformat(row["end_time"]),
        grace_in_minutes=row["grace_in_minutes"],
        grace_out_minutes=row["grace_out_minutes"],
        overtime_after_minutes=row["overtime_after_minutes"],
        days=frozenset(row["days"]),
        checkin_before_start_min=row["checkin_before_start_min"],
        checkout_after_end_min=row["checkout_after_end_min"],
        late_marking=bool(row["late_marking"]),
        early_marking=bool(row["early_marking"]),
        half_day_below_hours=row["half_day_below_hours"],
        absent_below_hours=row["absent_below_hours"],
        direction="alternate" if row["direction"] == "alternate" else "typed",
        hours="first_last" if row["hours_mode"] == "first_last" else "pairs",
        mark_on_holidays=bool(row["mark_on_holidays"]),
    )
