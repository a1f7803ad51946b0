"""Timesheets for a date range: as JSON and as a CSV download (UTF-8 with a BOM, for Excel)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from sync.server import export, timesheets
from sync.server.api.deps import From, ReadHR, Store, To
from sync.server.api.downloads import csv_download
from sync.server.store import attendance, employees, timesheet_reader

router = APIRouter()


@router.get("/api/timesheets")
def get_timesheets(
    who: ReadHR,
    store: Store,
    first: From,
    last: To,
    employee_no: str | None = None,
) -> dict[str, Any]:
    names = employees.names(store)
    report = timesheet_reader.load(store, first, last, employee_no)
    rows = [timesheets.row_json(r, store.tz) | {"name": names.get(r.employee_no, "")} for r in report.rows]
    unattached = [
        {"employee_no": no, "uid": p.uid, "direction": p.direction, "at": p.at.astimezone(store.tz).isoformat(),
         "device_id": p.device_id}
        for no, punches in sorted(report.unattached.items())
        for p in punches
    ]
    return {"from": first.isoformat(), "to": last.isoformat(), "timezone": str(store.tz), "rows": rows,
            "unattached": unattached}


@router.get("/api/timesheets.csv")
def timesheets_csv(
    who: ReadHR,
    store: Store,
    first: From,
    last: To,
    employee_no: str | None = None,
) -> Response:
    rows = attendance.load_timesheets(store, first, last, employee_no)
    text = export.timesheet_csv(rows, employees.names(store), store.tz)
    return csv_download(text, f"timesheets_{first.isoformat()}_{last.isoformat()}.csv")
