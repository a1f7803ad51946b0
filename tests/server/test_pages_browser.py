"""The HR pages in Debian's Chromium: log in with a token, see today's punches in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.server.auth import create_token
from sync.server.store import HRStore, devices, employees, open_hr_store, records
from tests.server.builders import BASE_MS, punch_record
from tests.server.conftest import running_api

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY = "A" * 43 + "="
NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai on the seeded Monday


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[HRStore]:
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOON)
    devices.register(store, device_id="gate-1", name="Front gate", site="HQ", sign_public_key=KEY,
                     sign_key_id="0123456789abcdef", box_public_key=KEY, box_key_id="0123456789abcdef", actor="t")
    employees.create(store, "E001", "李雷", "t")
    employees.create(store, "E002", "Han Meimei", "t")
    records.ingest(store, "gate-1", [
        punch_record(1, employee_no="E001"),  # 09:01
        punch_record(2, employee_no="E002", at_ms=BASE_MS + 15 * 60_000),  # 09:15
        punch_record(3, employee_no="E001", direction="out", at_ms=BASE_MS + 3 * 3_600_000),  # 12:00
    ])
    yield store
    store.close()


@pytest.fixture
def server_url(seeded: HRStore) -> Iterator[str]:
    with running_api(seeded) as url:
        yield url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: run ops/setup.sh")
def test_login_with_token_and_see_todays_punches_in_both_languages(seeded: HRStore, server_url: str) -> None:
    from playwright.sync_api import sync_playwright

    token = create_token(seeded, "hr", "browser test")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(server_url + "/")
            assert page.url.endswith("/login")  # no cookie, no page
            page.fill("#token", "ehr_not-a-token")
            page.click("#login")
            assert page.locator("#login-error").is_visible()
            page.fill("#token", token)
            page.click("#login")
            page.wait_for_url(server_url + "/")
            assert "今日打卡" in page.locator("h1").inner_text()
            rows = page.locator("#today tbody tr")
            assert rows.count() == 2
            li = page.locator('tr[data-employee="E001"]')
            assert li.locator(".name").inner_text() == "李雷"
            assert li.locator(".first-in").inner_text() == "09:01"
            assert li.locator(".last-out").inner_text() == "12:00"
            assert li.locator(".count").inner_text() == "2"
            assert li.locator(".device").inner_text() == "gate-1"
            han = page.locator('tr[data-employee="E002"]')
            assert han.locator(".first-in").inner_text() == "09:15" and han.locator(".last-out").inner_text() == ""

            page.click("#lang-switch")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text().startswith("Today's punches")
            assert page.locator("th").first.inner_text() == "Name"
            assert page.locator('tr[data-employee="E001"] .first-in').inner_text() == "09:01"
            # The choice sticks (cookie) on the next page.
            page.goto(server_url + "/timesheets?from=2026-03-02&to=2026-03-02")
            assert page.locator("h1").inner_text() == "Timesheets"
            assert "in progress" in page.locator("#totals").inner_text()

            page.click("text=Log out")
            page.wait_for_url(server_url + "/login")
            page.goto(server_url + "/")
            assert page.url.endswith("/login")
        finally:
            browser.close()
