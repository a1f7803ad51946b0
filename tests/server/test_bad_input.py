"""Ordinary bad input to the HR API is a 422 that says what is wrong, never a 5xx: ids beyond the store's
64 bits, days in year 1, corrections at absurd times (which used to break every later timesheet)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sync.server.store import HRStore, employees
from tests.server.builders import bearer

HUGE = 2**64  # beyond SQLite INTEGER / PostgreSQL BIGINT


def assert_invalid(reply: object, where: str) -> None:
    status, body = reply.status_code, reply.json()  # type: ignore[attr-defined]
    assert status == 422, (status, body)
    assert body["error"] == "invalid-request" and where in body["message"] and body["fix"], body


def test_ids_beyond_64_bits_are_refused_as_input(client: TestClient, store: HRStore) -> None:
    admin = bearer(store, "admin")
    employees.create(store, "E1", "Li Lei", "test")
    assert_invalid(client.delete(f"/api/webhooks/{HUGE}", headers=admin), "webhook_id")
    assert_invalid(client.get(f"/api/webhooks/{HUGE}/deliveries", headers=admin), "webhook_id")
    assert_invalid(client.post(f"/api/webhooks/deliveries/{HUGE}/retry", headers=admin), "delivery_id")
    assert_invalid(client.delete(f"/api/tokens/{HUGE}", headers=admin), "token_id")
    reply = client.put("/api/employees/E1/shift", json={"shift_id": HUGE, "valid_from": "2026-03-02"}, headers=admin)
    assert_invalid(reply, "shift_id")
    # Within the range, an unknown id is simply not found.
    assert client.delete(f"/api/tokens/{2**63 - 1}", headers=admin).status_code == 404


def test_days_outside_the_window_are_refused_as_input(client: TestClient, store: HRStore) -> None:
    hr = bearer(store, "hr")
    for path in ("/api/timesheets", "/api/timesheets.csv"):
        reply = client.get(path, params={"from": "0001-01-01", "to": "0001-01-03"}, headers=hr)
        assert_invalid(reply, "from")
        assert "2000-01-01" in reply.json()["message"]
        assert_invalid(client.get(path, params={"from": "2026-03-01", "to": "9999-12-31"}, headers=hr), "to")
    assert_invalid(client.get("/api/punches", params={"day": "0001-01-01"}, headers=hr), "day")
    reply = client.put("/api/employees/E1/shift", json={"shift_id": 1, "valid_from": "0001-01-01"}, headers=hr)
    assert_invalid(reply, "valid_from")


def test_a_correction_at_an_absurd_time_is_refused_and_timesheets_keep_working(
    client: TestClient, store: HRStore
) -> None:
    hr = bearer(store, "hr")
    employees.create(store, "E1", "Li Lei", "test")
    for at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2100-01-01T00:00:00Z"):
        reply = client.post("/api/corrections", json={"employee_no": "E1", "action": "add", "direction": "in",
                                                      "at": at, "reason": "forgot to punch"}, headers=hr)
        assert_invalid(reply, "at")
        assert "from 2000-01-01 to 2100-01-01 UTC" in reply.json()["message"]
    fine = client.post("/api/corrections", json={"employee_no": "E1", "action": "add", "direction": "in",
                                                 "at": "2026-03-02T09:00:00+08:00", "reason": "forgot to punch"},
                       headers=hr)
    assert fine.status_code == 201, fine.text
    reply = client.get("/api/timesheets", params={"from": "2026-03-01", "to": "2026-03-07"}, headers=hr)
    assert reply.status_code == 200 and any(r["employee_no"] == "E1" for r in reply.json()["rows"])
