"""HR API over a real store: auth and roles, employees/devices/downlinks, corrections, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from sync.server.store import HRStore, attendance, downlinks, records
from tests.server.builders import BASE_MS, KEY, bearer, punch_record


def test_no_token_is_401_wrong_role_is_403_with_actionable_json(client: TestClient, store: HRStore) -> None:
    reply = client.get("/api/punches")
    assert reply.status_code == 401
    assert reply.json()["error"] == "unauthenticated" and reply.json()["fix"]
    assert client.get("/api/punches", headers={"Authorization": "Bearer ehr_wrong"}).status_code == 401
    it = bearer(store, "it")
    reply = client.get("/api/punches", headers=it)
    assert reply.status_code == 403 and reply.json()["error"] == "forbidden"
    readonly = bearer(store, "readonly")
    assert client.get("/api/punches", headers=readonly).status_code == 200
    assert client.post("/api/employees", json={"employee_no": "E1", "name": "x"}, headers=readonly).status_code == 403
    assert client.post("/api/tokens", json={"role": "admin"}, headers=bearer(store, "hr")).status_code == 403
    assert client.get("/api/health").json()["ok"] is True
    assert "/api/timesheets.csv" in client.get("/openapi.json").json()["paths"]


def test_revoked_token_stops_working(client: TestClient, store: HRStore) -> None:
    admin = bearer(store, "admin")
    new = client.post("/api/tokens", json={"role": "readonly", "label": "payroll"}, headers=admin).json()
    headers = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/employees", headers=headers).status_code == 200
    token_id = [t["id"] for t in client.get("/api/tokens", headers=admin).json()["tokens"] if t["label"] == "payroll"]
    assert client.delete(f"/api/tokens/{token_id[0]}", headers=admin).status_code == 200
    assert client.get("/api/employees", headers=headers).status_code == 401


def test_erase_through_the_api_emits_downlinks(client: TestClient, store: HRStore) -> None:
    it, hr = bearer(store, "it"), bearer(store, "hr")
    for device_id in ("gate-1", "gate-2"):
        body = {"id": device_id, "name": device_id, "site": "HQ", "sign_public_key": KEY,
                "sign_key_id": "0123456789abcdef", "box_public_key": KEY, "box_key_id": "0123456789abcdef"}
        assert client.post("/api/devices", json=body, headers=it).status_code == 201
    assert client.post("/api/employees", json={"employee_no": "E001", "name": "李雷"}, headers=hr).status_code == 201
    reply = client.put("/api/devices/gate-1/employees", json={"employee_nos": ["E001"]}, headers=hr)
    assert reply.status_code == 200 and reply.json()["command_seq"] == 1
    reply = client.delete("/api/employees/E001", headers=hr)
    assert reply.status_code == 200 and reply.json()["erase_sent_to"] == ["gate-1", "gate-2"]
    kinds = sorted((d["device_id"], d["type"]) for d in downlinks.pending(store))
    assert kinds == [("gate-1", "erase"), ("gate-1", "gallery"), ("gate-2", "erase")]
    assert client.get("/api/employees/E001", headers=hr).json()["erased_at"] is not None
    assert client.delete("/api/employees/E001", headers=hr).status_code == 409
    assert client.delete("/api/employees/NOPE", headers=hr).json()["error"] == "not-found"
    bad = client.post("/api/devices", json={**body, "id": "gate-3", "sign_public_key": "abc"}, headers=it)
    assert bad.status_code == 400 and "base64" in bad.json()["message"]


def test_csv_export_for_payroll(client: TestClient, store: HRStore) -> None:
    hr = bearer(store, "hr")
    client.post("/api/employees", json={"employee_no": "E001", "name": "李雷"}, headers=hr)
    client.post("/api/employees", json={"employee_no": "E002", "name": "=cmd()"}, headers=hr)
    shift = client.post("/api/shifts", json={"name": "day", "start": "09:00", "end": "18:00", "grace_in_minutes": 5,
                                             "grace_out_minutes": 5, "overtime_after_minutes": 30}, headers=hr).json()
    for no in ("E001", "E002"):
        client.put(f"/api/employees/{no}/shift", json={"shift_id": shift["id"], "valid_from": "2026-01-01"},
                   headers=hr)
    # BASE_MS is Monday 09:00 in Shanghai; E001 comes at 09:10 and leaves at 18:00; E002 never comes.
    records.ingest(store, "gate-1", [punch_record(10), punch_record(2, direction="out", at_ms=BASE_MS + 9 * 3_600_000)])
    store.clock = lambda: datetime(2026, 3, 3, 12, tzinfo=UTC)  # Monday is over: a no-show is an absence
    reply = client.get("/api/timesheets.csv?from=2026-03-02&to=2026-03-02", headers=hr)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert reply.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["employee_no", "name", "day", "shift", "first_in", "last_out", "worked_minutes",
                             "late_minutes", "early_leave_minutes", "overtime_minutes", "absent", "missing_punch",
                             "flags", "status", "finalised", "worked_hours"]
    by_no = {r["employee_no"]: r for r in rows}
    assert by_no["E001"] == {
        "employee_no": "E001", "name": "李雷", "day": "2026-03-02", "shift": "day", "first_in": "09:10",
        "last_out": "18:00", "worked_minutes": "530", "late_minutes": "10", "early_leave_minutes": "0",
        "overtime_minutes": "0", "absent": "0", "missing_punch": "0", "flags": "late",
        "status": "present", "finalised": "1", "worked_hours": "8.83",
    }
    assert by_no["E002"]["absent"] == "1" and by_no["E002"]["flags"] == "absent" and by_no["E002"]["status"] == "absent"
    assert by_no["E002"]["name"] == "'=cmd()"  # no formula injection into Excel
    data = client.get("/api/timesheets?from=2026-03-02&to=2026-03-02", headers=hr).json()
    assert {r["employee_no"]: r["late_minutes"] for r in data["rows"]} == {"E001": 10, "E002": 0}


def test_correction_is_audited_and_applied(client: TestClient, store: HRStore) -> None:
    hr, readonly = bearer(store, "hr"), bearer(store, "readonly")
    client.post("/api/employees", json={"employee_no": "E001", "name": "Li Lei"}, headers=hr)
    records.ingest(store, "gate-1", [punch_record(1)])
    fix = {"employee_no": "E001", "action": "add", "direction": "out", "at": "2026-03-02T18:00:00+08:00",
           "reason": "badge reader was down"}
    assert client.post("/api/corrections", json=fix, headers=readonly).status_code == 403
    assert client.post("/api/corrections", json={**fix, "reason": ""}, headers=hr).status_code == 422
    reply = client.post("/api/corrections", json=fix, headers=hr)
    assert reply.status_code == 201
    (row,) = client.get("/api/timesheets?from=2026-03-02&to=2026-03-02", headers=hr).json()["rows"]
    assert "corrected" in row["flags"] and row["last_out"] == "2026-03-02T18:00:00+08:00"
    assert len(attendance.punches(store)) == 1  # the stored punches are untouched
    from sync.server.store import audit

    (entry,) = [e for e in audit.entries(store) if e["action"] == "correction.create"]
    assert entry["detail"]["reason"] == "badge reader was down" and entry["actor"].startswith("token:")
