"""One correction or punch with an extreme time never breaks a timesheet: refused at the store's door,
and a row stored before (or sent by a broken device) is left out of the report, not the report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from core.errors import InputError
from sync.protocol import PunchCorrectionBody
from sync.server import export, timesheets
from sync.server.store import HRStore, attendance, records
from sync.server.store import employees as hr_employees
from tests.server.builders import punch_record

MONDAY = date(2026, 3, 2)  # the builders' punches: from 2026-03-02 09:00 +08:00 on
EXTREME = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1999-12-31T23:59:59+00:00"]


def _raw_correction(store: HRStore, at_ms: int, action: str = "add", punch_uid: str | None = None) -> None:
    """A corrections row as an older version stored it, before the window was checked."""
    with store.db.transaction() as tx:
        tx.execute(
            "INSERT INTO corrections (employee_no, action, punch_uid, direction, at_ms, reason, actor, created_at)"
            " VALUES ('E001', ?, ?, 'out', ?, 'typo', 'hr', '2026-03-02T10:00:00+00:00')",
            (action, punch_uid, at_ms),
        )


def _extreme_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize("text", EXTREME)
def test_a_correction_time_outside_the_window_is_refused(store: HRStore, text: str) -> None:
    hr_employees.create(store, "E001", "Li Lei", "t")
    with pytest.raises(InputError, match="outside the accepted window"):
        fix = attendance.CorrectionRequest("E001", "add", "forgot", direction="in", at=datetime.fromisoformat(text))
        attendance.add_correction(store, fix, actor="hr")
    assert attendance.corrections(store) == []


def test_extreme_rows_already_stored_are_left_out_and_every_report_still_answers(store: HRStore) -> None:
    hr_employees.create(store, "E001", "Li Lei", "t")
    assert records.ingest(store, "gate-1", [punch_record(1), punch_record(2, direction="out")]).stored == [1, 2]
    for text in EXTREME:
        _raw_correction(store, _extreme_ms(text))
    _raw_correction(store, 2**63 - 1)  # what a device could send as at_ms
    _raw_correction(store, 2**63 - 1, action="change", punch_uid="gate-1-punch-2")  # left out whole
    # A device correction record with at_ms = 2^63-1 never reaches the store's ingest: it is not a body.
    device_fix = {"action": "add", "employee_no": "E001", "reason": "x", "admin": "a", "clock_synced": True,
                  "direction": "in", "at_ms": 2**63 - 1}
    with pytest.raises(ValidationError, match="at_ms"):
        PunchCorrectionBody.model_validate(device_fix)

    for first, last in ((MONDAY, MONDAY), (date(2026, 1, 1), date(2026, 12, 31))):
        rows = attendance.load_timesheets(store, first, last)
        monday = next(r for r in rows if r.employee_no == "E001" and r.day == MONDAY)
        assert [p.uid for p in monday.punches] == ["gate-1-punch-1", "gate-1-punch-2"]  # the good punches count
        assert monday.worked_minutes == 1
        export.timesheet_csv(rows, {"E001": "Li Lei"}, store.tz)  # and the CSV renders
        assert all(timesheets.row_json(r, store.tz) for r in rows)


def test_the_pure_timesheet_leaves_out_times_it_cannot_place() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    good = timesheets.TimedPunch("p1", "in", datetime(2026, 3, 2, 9, 0, tzinfo=tz))
    far = timesheets.TimedPunch("p2", "out", datetime.max.replace(tzinfo=UTC))
    fix = timesheets.Correction(1, "add", None, "out", datetime.min.replace(tzinfo=UTC))
    (row,) = timesheets.timesheet("E1", MONDAY, MONDAY, [good, far], [fix], lambda d: None, tz,
                                  datetime(2026, 3, 10, tzinfo=tz))
    assert [p.uid for p in row.punches] == ["p1"]


def test_the_window_type_is_ready_for_the_apis_request_model() -> None:
    # What the HR API's CorrectionIn.at becomes with its one-line change: a 422, never a 500.
    from pydantic import BaseModel, ValidationError

    class CorrectionAt(BaseModel):
        at: timesheets.SaneInstant | None = None

    assert CorrectionAt.model_validate({"at": "2026-03-02T09:00:00+08:00"}).at is not None
    assert CorrectionAt.model_validate({}).at is None
    for text in [*EXTREME, "2026-03-02T09:00:00"]:  # the last has no offset
        with pytest.raises(ValidationError):
            CorrectionAt.model_validate({"at": text})
