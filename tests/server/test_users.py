"""HR user accounts beside API tokens: created by an admin (API and page), scrypt hashes only, server-side
sessions that expire, a per-address lockout with back-off, roles as the API's; tokens keep working."""

from __future__ import annotations

import io
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.login_throttle import MAX_FAILURES
from sync.server import users
from sync.server.auth import create_token
from sync.server.store import HRStore
from tests.server.test_pages_browser import ARGS, CHROMIUM, seeded, server_url  # noqa: F401 - fixtures

PASSWORD = "a long hr password"


def test_admin_creates_users_by_api_and_the_hash_is_scrypt(client: TestClient, store: HRStore) -> None:
    admin = {"Authorization": f"Bearer {create_token(store, 'admin')}"}
    hr = {"Authorization": f"Bearer {create_token(store, 'hr')}"}
    body = {"username": "wang.fang", "role": "hr", "password": PASSWORD}
    assert client.post("/api/users", json=body, headers=hr).status_code == 403
    made = client.post("/api/users", json=body, headers=admin)
    assert made.status_code == 201 and made.json()["role"] == "hr"
    assert client.post("/api/users", json=body, headers=admin).status_code in (400, 409, 422)
    for bad in ({"username": "x2", "password": "short"}, {"username": "x3", "role": "root"}):
        assert client.post("/api/users", json=body | bad, headers=admin).status_code == 422
    listed = client.get("/api/users", headers=admin).json()["users"]
    assert [u["username"] for u in listed] == ["wang.fang"] and "password_hash" not in listed[0]
    with store.db.read() as tx:
        stored = tx.execute("SELECT password_hash FROM hr_users").scalar()
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert users.check_password(store, "wang.fang", PASSWORD) is not None
    assert users.check_password(store, "wang.fang", PASSWORD + "!") is None
    # tokens keep working for machines
    assert client.get("/api/users", headers=admin).status_code == 200


def test_sessions_expire_and_end_when_the_user_is_disabled(store: HRStore) -> None:
    user_id = users.create_user(store, "li.na", "readonly", PASSWORD, actor="test")
    cookie = users.start_session(store, user_id, "127.0.0.1")
    found = users.session(store, cookie)
    assert found is not None and found.principal.role == "readonly" and found.principal.actor == f"user:{user_id}:li.na"
    assert users.session(store, cookie + "x") is None
    start = store.clock()
    store.clock = lambda: start + timedelta(hours=users.SESSION_HOURS, seconds=1)
    assert users.session(store, cookie) is None  # expired
    store.clock = lambda: start
    assert users.session(store, cookie) is not None
    assert users.disable_user(store, user_id, actor="test")
    assert users.session(store, cookie) is None
    assert users.check_password(store, "li.na", PASSWORD) is None


def test_page_login_with_a_user_then_lockout_per_address(client: TestClient, store: HRStore) -> None:
    users.create_user(store, "zhao.lei", "hr", PASSWORD, actor="test")
    signed = client.post("/login", data={"username": "zhao.lei", "password": PASSWORD}, follow_redirects=False)
    assert signed.status_code == 303 and "edgehr_hr_session" in signed.headers["set-cookie"]
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/", follow_redirects=False).status_code == 200
    client.post("/logout", follow_redirects=False)
    client.cookies.clear()
    assert client.get("/", follow_redirects=False).status_code == 303
    for n in range(MAX_FAILURES):
        wrong = client.post("/login", data={"username": "zhao.lei", "password": f"guess {n}"})
        assert wrong.status_code == 401
    locked = client.post("/login", data={"username": "zhao.lei", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    foreign = client.post("/login", data={"username": "zhao.lei", "password": PASSWORD},
                          headers={"origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_cli_adds_a_user_reading_the_password_from_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import main
    from sync.server.store import open_hr_store

    config = tmp_path / "server.toml"
    config.write_text(f'role = "server"\n[server]\nstate_dir = "{tmp_path}"\n[broker]\ntls = false\n')
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["server", "user", "add", "--config", str(config), "--username", "ops.admin", "--role", "admin",
                 "--stdin"]) == 0
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai")
    try:
        assert users.check_password(store, "ops.admin", PASSWORD) is not None
    finally:
        store.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: run ops/setup.sh")
def test_hr_login_with_a_user_account_in_the_browser(seeded: HRStore, server_url: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    users.create_user(seeded, "hr.admin", "admin", PASSWORD, actor="test")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(server_url + "/")
            page.fill("#username", "hr.admin")
            page.fill("#password", "wrong password!")
            page.click("#user-login")
            expect(page.locator("#user-login-error")).to_be_visible()
            page.screenshot(path=tmp_path / "hr-login-refused.png", full_page=True)
            page.fill("#password", PASSWORD)
            page.click("#user-login")
            page.wait_for_url(server_url + "/")
            expect(page.locator("#who")).to_contain_text("hr.admin")
            page.screenshot(path=tmp_path / "hr-today.png", full_page=True)
            page.click("header >> text=Users")
            page.fill("#new-username", "li.lei")
            page.select_option("#new-role", "readonly")
            page.fill("#new-password", PASSWORD)
            page.fill("#new-repeat", PASSWORD)
            page.click("#create-user")
            expect(page.locator('tr[data-user="li.lei"]')).to_contain_text("readonly")
            page.screenshot(path=tmp_path / "hr-users.png", full_page=True)
            page.click("#logout")
            page.wait_for_url(server_url + "/login")
            page.fill("#username", "li.lei")
            page.fill("#password", PASSWORD)
            page.click("#user-login")
            page.wait_for_url(server_url + "/")
            page.goto(server_url + "/users")
            expect(page.locator("#forbidden")).to_be_visible()  # a readonly user may not manage accounts
            assert re.search("Users", page.locator("header").inner_text()) is None
        finally:
            browser.close()
