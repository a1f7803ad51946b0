"""Payroll export: timesheet rows as CSV that Excel opens correctly in China (UTF-8 with a BOM).

One row per employee per day; header names in English (payroll systems map columns by name); times as
local HH:MM in the server's zone (the day column says which day); flags joined with ";".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sync.server.timesheets import DayRow

COLUMNS = (
    "employee_no",
    "name",
    "day",
    "shift",
    "first_in",
    "last_out",
    "worked_minutes",
    "late_minutes",
    "early_leave_minutes",
    "overtime_minutes",
    "absent",
    "missing_punch",
    "flags",
)
BOM = "\ufeff"


def _hhmm(moment: datetime | None, row_day: str, tz: ZoneInfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    # An overnight shift's out falls on the next calendar day: say so rather than print a bare earlier time.
    return local.strftime("%H:%M") if local.date().isoformat() == row_day else local.strftime("%Y-%m-%d %H:%M")


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to Excel (CSV injection): names come from people.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def timesheet_csv(rows: Iterable[DayRow], names: Mapping[str, str], tz: ZoneInfo) -> str:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        day = row.day.isoformat()
        writer.writerow(
            [
                _cell(row.employee_no),
                _cell(names.get(row.employee_no, "")),
                day,
                _cell(row.shift or ""),
                _hhmm(row.first_in, day, tz),
                _hhmm(row.last_out, day, tz),
                row.worked_minutes,
                row.late_minutes,
                row.early_leave_minutes,
                row.overtime_minutes,
                int(row.absent),
                int(row.missing_punch),
                ";".join(row.flags),
            ]
        )
    return out.getvalue()
