"""Employee self-service over a real HR store (SQLite and PostgreSQL): an employee account is linked to one
employee number and reads only that person's punches, hours (HR's own timesheet rows) and correction
requests; a request HR accepts becomes a real correction through the corrections path (audited), a rejected
one carries HR's reason; every other API route and page refuses the employee role."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from sync.server import users
from sync.server.pages.common import SESSION_COOKIE
from sync.server.store import HRStore, audit, employees, records
from sync.server.store.database import Database
from tests.server.builders import BASE_MS, USER_PASSWORD, bearer, employee_session, punch_record, register
from tests.server.test_review_roles import FORM, concrete, routes

DAY = "from=2026-03-02&to=2026-03-02"
#: Routes an employee may use (everything else answers 403).
MINE = {"/api/me", "/api/me/punches", "/api/me/hours", "/api/me/correction-requests"}
PUBLIC = {"/api/health", "/api/health/live", "/api/health/ready"}


def seed(store: HRStore) -> None:
    """E1 punched in at 09:00 and out at 12:00; E2 (somebody else) in at 09:15 and never out."""
    register(store, "gate-1")
    employees.create(store, "E1", "Wang Fang", "test")
    employees.create(store, "E2", "Zhao Lei", "test")
    records.ingest(store, "gate-1", [
        punch_record(1, employee_no="E1", at_ms=BASE_MS),
        punch_record(2, employee_no="E2", at_ms=BASE_MS + 15 * 60_000),
        punch_record(3, employee_no="E1", direction="out", at_ms=BASE_MS + 3 * 3_600_000),
    ])


def as_employee(client: TestClient, store: HRStore, employee_no: str = "E1") -> dict[str, str]:
    cookie, csrf = employee_session(store, employee_no)
    client.cookies.set(SESSION_COOKIE, cookie)
    return {"X-CSRF-Token": csrf}


def test_an_employee_account_needs_its_employee_and_tokens_cannot_be_employees(client: TestClient,
                                                                               store: HRStore) -> None:
    seed(store)
    admin = bearer(store, "admin")
    body = {"username": "wang.fang", "role": "employee", "password": USER_PASSWORD}
    assert client.post("/api/users", json=body, headers=admin).status_code == 400  # no employee number
    assert client.post("/api/users", json=body | {"employee_no": "E404"}, headers=admin).status_code == 404
    assert client.post("/api/users", json=body | {"role": "hr", "employee_no": "E1"}, headers=admin).status_code == 400
    made = client.post("/api/users", json=body | {"employee_no": "E1"}, headers=admin)
    assert made.status_code == 201 and made.json()["employee_no"] == "E1"
    listed = client.get("/api/users", headers=admin).json()["users"]
    assert [(u["role"], u["employee_no"]) for u in listed] == [("employee", "E1")]
    assert client.post("/api/tokens", json={"role": "employee"}, headers=admin).status_code == 400
    found = users.check_password(store, "wang.fang", USER_PASSWORD)
    assert found is not None and found[1] == "employee"


def test_the_database_holds_the_link_both_ways(store: HRStore) -> None:
    seed(store)
    # an employee account without its employee
    with pytest.raises(Exception, match="(?i)check|constraint"), store.db.transaction() as tx:
        tx.execute("INSERT INTO hr_users (username, role, password_hash, created_at, created_by)"
                   " VALUES ('x1', 'employee', 'h', 't', 't')")
    # an HR account pointing at an employee
    with pytest.raises(Exception, match="(?i)check|constraint"), store.db.transaction() as tx:
        tx.execute("INSERT INTO hr_users (username, role, password_hash, created_at, created_by, employee_no)"
                   " VALUES ('x2', 'hr', 'h', 't', 't', 'E1')")


def test_an_employee_reads_only_their_own_punches_and_hours(client: TestClient, store: HRStore) -> None:
    seed(store)
    as_employee(client, store, "E1")
    assert client.get("/api/me").json() == {"username": "emp.e1", "employee_no": "E1"}
    punches = client.get(f"/api/me/punches?{DAY}").json()["punches"]
    assert [p["direction"] for p in punches] == ["in", "out"]
    hours = client.get(f"/api/me/hours?{DAY}").json()
    assert {r["employee_no"] for r in hours["rows"]} == {"E1"}
    # The same numbers as HR's own timesheet for that person (the one function, called, not re-made).
    hr_rows = client.get(f"/api/timesheets?{DAY}&employee_no=E1", headers=bearer(store, "hr")).json()["rows"]
    assert [r["worked_minutes"] for r in hours["rows"]] == [r["worked_minutes"] for r in hr_rows] == [180]
    assert hours["totals"]["worked_hours"] == 3.0 and hours["totals"]["days_worked"] == 1
    # A query naming somebody else is not a thing: the account's link decides (extra parameters are ignored).
    assert {p["uid"] for p in client.get(f"/api/me/punches?{DAY}&employee_no=E2").json()["punches"]} == \
        {p["uid"] for p in punches}


def test_a_request_is_filed_then_accepted_as_an_audited_correction(client: TestClient, store: HRStore) -> None:
    seed(store)
    csrf = as_employee(client, store, "E2")
    missed = {"action": "add", "direction": "out", "at": "2026-03-02T11:45:00+08:00", "reason": "forgot at the gate"}
    assert client.post("/api/me/correction-requests", json=missed).status_code == 403  # no CSRF header
    e1_punch = records_of(store, "E1")[0]
    stranger = {"action": "void", "punch_uid": e1_punch, "reason": "not mine"}
    assert client.post("/api/me/correction-requests", json=stranger, headers=csrf).status_code == 404
    filed = client.post("/api/me/correction-requests", json=missed, headers=csrf)
    assert filed.status_code == 201 and filed.json()["status"] == "pending"
    assert client.get(f"/api/me/hours?{DAY}").json()["totals"]["worked_minutes"] == 0  # not corrected yet
    client.cookies.clear()

    hr = bearer(store, "hr")
    pending = client.get("/api/correction-requests?status=pending", headers=hr).json()
    assert pending["total"] == 1 and pending["requests"][0]["name"] == "Zhao Lei"
    request_id = pending["requests"][0]["id"]
    assert client.post(f"/api/correction-requests/{request_id}/accept", headers=bearer(store, "readonly")
                       ).status_code == 403
    accepted = client.post(f"/api/correction-requests/{request_id}/accept", headers=hr)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert client.post(f"/api/correction-requests/{request_id}/accept", headers=hr).status_code == 409
    corrections = client.get("/api/corrections?employee_no=E2", headers=hr).json()["corrections"]
    assert [(c["id"], c["action"], c["direction"]) for c in corrections] == \
        [(accepted.json()["correction_id"], "add", "out")]
    actions = [e["action"] for e in audit.entries(store, "employee:E2")]
    assert {"correction-request.file", "correction.create", "correction-request.accept"} <= set(actions)

    found = users.check_password(store, "emp.e2", USER_PASSWORD)  # the employee signs in again
    assert found is not None
    client.cookies.set(SESSION_COOKIE, users.start_session(store, found[0], "testclient"))
    assert client.get(f"/api/me/hours?{DAY}").json()["totals"]["worked_minutes"] == 150  # 09:15 .. 11:45
    mine = client.get("/api/me/correction-requests").json()["requests"]
    assert [(r["status"], r["action"]) for r in mine] == [("accepted", "add")] and "decided_by" not in mine[0]


def test_a_rejected_request_carries_the_reason_and_changes_nothing(client: TestClient, store: HRStore) -> None:
    seed(store)
    csrf = as_employee(client, store, "E1")
    uid = client.get(f"/api/me/punches?{DAY}").json()["punches"][1]["uid"]
    filed = client.post("/api/me/correction-requests", json={"action": "void", "punch_uid": uid,
                                                               "reason": "pressed by mistake"}, headers=csrf).json()
    hr = bearer(store, "hr")
    assert client.post(f"/api/correction-requests/{filed['id']}/reject", json={"reason": ""},
                       headers=hr).status_code == 422
    rejected = client.post(f"/api/correction-requests/{filed['id']}/reject", json={"reason": "camera shows you"},
                           headers=hr)
    assert rejected.json()["status"] == "rejected" and rejected.json()["correction_id"] is None
    assert client.get("/api/corrections?employee_no=E1", headers=hr).json()["corrections"] == []
    mine = client.get("/api/me/correction-requests").json()["requests"]
    assert (mine[0]["status"], mine[0]["decision_reason"]) == ("rejected", "camera shows you")
    assert client.get(f"/api/me/hours?{DAY}").json()["totals"]["worked_minutes"] == 180


def records_of(store: HRStore, employee_no: str) -> list[str]:
    with store.db.read() as tx:
        return [r[0] for r in tx.execute("SELECT uid FROM punches WHERE employee_no = ? ORDER BY device_time_ms",
                                         (employee_no,)).all()]


def test_every_other_api_route_refuses_the_employee(client: TestClient, store: HRStore) -> None:
    seed(store)
    csrf = as_employee(client, store, "E1")
    listed = routes(client, api=True)
    assert {path for _, path in listed} >= MINE
    for method, path in listed:
        if path in PUBLIC:
            continue
        status = client.request(method, concrete(path) + "?" + DAY, json={}, headers=csrf).status_code
        if path in MINE:
            assert status not in (401, 403), (method, path, status)
        elif path == "/api/metrics":  # a scraper's route: bearer tokens only, a browser's cookie is nobody
            assert status == 401, (method, path, status)
        else:
            assert status == 403, (method, path, status)


def test_every_other_page_refuses_the_employee_and_shows_nobody_else(client: TestClient, store: HRStore) -> None:
    seed(store)
    cookie, csrf = employee_session(store, "E1")
    client.cookies.set(SESSION_COOKIE, cookie)
    own = {"/me", "/me/requests", "/login", "/logout"}
    for method, path in routes(client, api=False):
        if path in own or path.startswith(("/static", "/openapi", "/docs", "/redoc")):
            continue
        reply = client.request(method, concrete(path) + "?" + DAY + "&lang=en",
                               data=FORM | {"csrf": csrf} if method == "POST" else None,
                               follow_redirects=False)
        refused = reply.status_code == 403 or (reply.status_code == 200 and re.search(
            r'id="forbidden"|may not open|class="error"', reply.text) is not None)
        assert refused, (method, path, reply.status_code)
        assert "Zhao Lei" not in reply.text and "E2" not in reply.text, (method, path)
    page = client.get("/me?" + DAY + "&lang=en")
    assert page.status_code == 200 and "Zhao Lei" not in page.text and 'data-uid="' in page.text
    assert client.get("/correction-requests").status_code == 403


def test_the_migration_keeps_existing_accounts(tmp_path: object) -> None:
    from pathlib import Path

    from core.migrations import migrate as run
    from sync.server.store.migrations import MIGRATIONS
    from sync.server.store.schema_self_service import SCHEMA_SELF_SERVICE

    mine = next(number for number, _, script in MIGRATIONS if script == SCHEMA_SELF_SERVICE)
    path = Path(str(tmp_path)) / "old.db"
    db = Database(f"sqlite:///{path}")
    try:
        run([m for m in MIGRATIONS if m[0] < mine], db.transaction, ddl=db.ddl)
        with db.transaction() as tx:
            tx.execute("INSERT INTO hr_users (username, role, password_hash, created_at, created_by)"
                       " VALUES ('old.hr', 'hr', 'h', 't', 't')")
            tx.execute("INSERT INTO hr_sessions (session_hash, user_id, csrf, client, created_at, expires_at)"
                       " VALUES ('s', 1, 'c', 'x', 't', 't')")  # a live session: ended by the migration
        assert run(MIGRATIONS, db.transaction, ddl=db.ddl) == MIGRATIONS[-1][0]
        with db.read() as tx:
            assert tx.execute("SELECT username, role, employee_no FROM hr_users").all() == [("old.hr", "hr", None)]
            assert tx.execute("SELECT count(*) FROM hr_sessions").scalar() == 0
            tx.execute("INSERT INTO hr_sessions (session_hash, user_id, csrf, client, created_at, expires_at)"
                       " VALUES ('s2', 1, 'c', 'x', 't', 't')")  # the sessions' foreign key names the new table
    finally:
        db.close()


def test_the_cli_links_an_employee_account(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys
    from pathlib import Path

    from cli.main import main
    from sync.server.store import open_hr_store

    folder = Path(str(tmp_path))
    config = folder / "server.toml"
    config.write_text(f'role = "server"\n[server]\nstate_dir = "{folder}"\n[broker]\ntls = false\n')
    store = open_hr_store(f"sqlite:///{folder / 'hr.db'}", "Asia/Shanghai")
    try:
        employees.create(store, "E7", "Sun Li", "test")
    finally:
        store.close()
    add = ["server", "user", "add", "--config", str(config), "--username", "sun.li", "--role", "employee", "--stdin"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(USER_PASSWORD + "\n"))
    assert main(add) == 1  # an employee account without --employee is refused (nothing added)
    monkeypatch.setattr(sys, "stdin", io.StringIO(USER_PASSWORD + "\n"))
    assert main([*add, "--employee", "E7"]) == 0
    store = open_hr_store(f"sqlite:///{folder / 'hr.db'}", "Asia/Shanghai")
    try:
        assert [(u["username"], u["role"], u["employee_no"]) for u in users.list_users(store)] == \
            [("sun.li", "employee", "E7")]
    finally:
        store.close()
