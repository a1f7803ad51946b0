"""Payroll export: timesheet rows as CSV that Excel opens correctly in China (UTF-8 with a BOM).

One row per employee per day and shift (status, finalised and worked hours after the original columns,
which keep their order); header names in English (payroll systems map columns by name); times as
local HH:MM in the server's zone (the day column says which day); flags joined with ";".

Interview scores go out the same way: one row per competency score of a session, never a transcript or an
evidence sentence (those stay in the report, behind HR's and admins' tokens).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
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
    "status",
    "finalised",
    "worked_hours",
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
                row.status,
                int(row.finalised),
                f"{row.worked_hours:.2f}",
            ]
        )
    return out.getvalue()


INTERVIEW_COLUMNS = (
    "session_id",
    "candidate_id",
    "candidate_name",
    "role_id",
    "device_id",
    "completed_at",
    "clock_synced",
    "competency",
    "score",
    "scale_max",
)


def interview_scores_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows of ``interviews.score_rows`` as CSV (completed_at is local time with its offset)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INTERVIEW_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _cell(str(row["session_id"])),
                _cell(str(row["candidate_id"])),
                _cell(str(row["candidate_name"] or "")),
                _cell(str(row["role_id"])),
                _cell(str(row["device_id"])),
                row["completed_at"],
                int(bool(row["clock_synced"])),
                _cell(str(row["competency"])),
                f"{float(row['score']):g}",
                int(row["scale_max"]),
            ]
        )
    return out.getvalue()
