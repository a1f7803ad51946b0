"""The attendance rules through the HR API: a shift with every setting, assignments with end dates and a
default, a holiday calendar, a leave record; the timesheet shows status, finalised and unattached punches."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from sync.server.store import HRStore, records
from tests.server.builders import BASE_MS, bearer, punch_record

HOUR = 3_600_000


def test_rules_calendars_and_leave_shape_the_timesheet(client: TestClient, store: HRStore) -> None:
    hr = bearer(store, "hr")
    assert client.post("/api/employees", json={"employee_no": "E001", "name": "Li Lei"}, headers=hr).status_code == 201
    day = client.post("/api/shifts", headers=hr, json={
        "name": "day", "start": "09:00", "end": "18:00", "days": [1, 2, 3, 4, 5], "checkin_before_start_min": 60,
        "checkout_after_end_min": 60, "half_day_below_hours": 4, "absent_below_hours": 1, "hours": "first_last",
    }).json()
    late = client.post("/api/shifts", headers=hr, json={"name": "late", "start": "13:00", "end": "22:00",
                                                        "days": [1, 2, 3, 4, 5, 6, 7]}).json()
    shifts = {s["name"]: s for s in client.get("/api/shifts", headers=hr).json()["shifts"]}
    assert shifts["day"]["half_day_below_hours"] == 4 and shifts["day"]["hours_mode"] == "first_last"
    assert shifts["late"]["checkin_before_start_min"] is None and shifts["late"]["late_marking"] is True
    put = client.put("/api/employees/E001/shift", headers=hr, json={"shift_id": day["id"], "valid_from": "2026-01-01"})
    assert put.status_code == 200
    temp = {"shift_id": late["id"], "valid_from": "2026-03-06", "valid_to": "2026-03-06"}
    assert client.put("/api/employees/E001/shift", headers=hr, json=temp).json()["valid_to"] == "2026-03-06"
    bad = {"shift_id": late["id"], "valid_from": "2026-03-07", "valid_to": "2026-03-06"}
    assert client.put("/api/employees/E001/shift", headers=hr, json=bad).status_code == 400
    assert len(client.get("/api/employees/E001/shifts", headers=hr).json()["assignments"]) == 2
    cal = client.post("/api/holiday-calendars", headers=hr, json={"name": "CN 2026", "is_default": True}).json()
    assert client.put(f"/api/holiday-calendars/{cal['id']}/holidays/2026-03-03", headers=hr,
                      json={"name": "test holiday"}).status_code == 200
    leave = {"employee_no": "E001", "day": "2026-03-04", "status": "on_leave", "reason": "annual leave"}
    assert client.post("/api/attendance/manual", headers=hr, json=leave).status_code == 201
    assert client.post("/api/attendance/manual", headers=bearer(store, "readonly"), json=leave).status_code == 403
    # Monday 09:00-12:30 (half day); Thursday 06:00 (outside every window: unattached).
    records.ingest(store, "gate-1", [
        punch_record(1, at_ms=BASE_MS), punch_record(2, direction="out", at_ms=BASE_MS + 3 * HOUR + HOUR // 2),
        punch_record(3, at_ms=BASE_MS + 3 * 24 * HOUR - 3 * HOUR),
    ])
    store.clock = lambda: datetime(2026, 3, 6, 12, tzinfo=UTC)
    data = client.get("/api/timesheets?from=2026-03-02&to=2026-03-06", headers=hr).json()
    got = [(r["day"], r["shift"], r["status"], r["finalised"]) for r in data["rows"]]
    assert got == [("2026-03-02", "day", "half_day", True), ("2026-03-03", "day", "holiday", True),
                   ("2026-03-04", "day", "on_leave", True), ("2026-03-05", "day", "absent", True),
                   ("2026-03-06", "late", "open", False)]
    assert [(u["employee_no"], u["at"]) for u in data["unattached"]] == [("E001", "2026-03-05T06:00:00+08:00")]
    calendars = client.get("/api/holiday-calendars", headers=hr).json()["calendars"]
    assert calendars[0]["holidays"] == [{"day": "2026-03-03", "name": "test holiday"}]
    manual = client.get("/api/attendance/manual?employee_no=E001", headers=hr).json()["records"]
    assert manual[0]["status"] == "on_leave"


def test_pages_show_status_unattached_and_rules_in_both_languages(client: TestClient, store: HRStore) -> None:
    hr = bearer(store, "hr")
    client.post("/api/employees", json={"employee_no": "E001", "name": "Li Lei"}, headers=hr)
    client.post("/api/shifts", headers=hr, json={"name": "day", "start": "09:00", "end": "18:00",
                                                 "checkin_before_start_min": 30, "checkout_after_end_min": 30})
    client.put("/api/employees/E001/shift", headers=hr, json={"shift_id": 1, "valid_from": "2026-01-01"})
    records.ingest(store, "gate-1", [punch_record(1, at_ms=BASE_MS - 2 * HOUR)])  # 07:00: before the window
    store.clock = lambda: datetime(2026, 3, 3, 12, tzinfo=UTC)
    token = hr["Authorization"].removeprefix("Bearer ")
    assert client.post("/login", data={"token": token}, follow_redirects=False).status_code == 303
    page = client.get("/timesheets?from=2026-03-02&to=2026-03-02&lang=en").text
    assert 'id="unattached"' in page and "2026-03-02 07:00" in page and 'class="absences">1<' in page
    assert "absent" in client.get("/timesheets/people/E001?from=2026-03-02&to=2026-03-02&lang=en").text
    assert "未归属" in client.get("/timesheets?from=2026-03-02&to=2026-03-02&lang=zh-CN").text
    rules = client.get("/attendance-rules?lang=en").text
    assert 'id="shifts"' in rules and "30 /" in rules
    assert "节假日日历" in client.get("/attendance-rules?lang=zh-CN").text
