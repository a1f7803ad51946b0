"""The attendance-rules page in Debian's Chromium: HR signs in with a user account, creates a shift, assigns it
to an employee with an end date, adds a holiday to a calendar, and sees the timesheet day become a holiday.
Screenshots of each step are saved in the test's tmp_path like the other journeys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.server import users
from sync.server.store import HRStore, attendance, devices, employees, open_hr_store
from tests.server.conftest import running_api

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY = "A" * 43 + "="
LATER = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # the Tuesday after the week shown, noon in Shanghai
PASSWORD = "a long test passphrase"


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[HRStore]:
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai", clock=lambda: LATER)
    devices.register(store, device_id="gate-1", name="Front gate", site="HQ", sign_public_key=KEY,
                     sign_key_id="0123456789abcdef", box_public_key=KEY, box_key_id="0123456789abcdef", actor="t")
    employees.create(store, "E001", "李雷", "t")
    users.create_user(store, "hr.wang", "hr", PASSWORD, actor="test")
    yield store
    store.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: run ops/setup.sh")
def test_hr_sets_a_shift_an_assignment_and_a_holiday_and_the_timesheet_follows(
    seeded: HRStore, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with running_api(seeded) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(url + "/login")
            page.fill("#username", "hr.wang")
            page.fill("#password", PASSWORD)
            page.click("#user-login")
            page.wait_for_url(url + "/")
            page.click("header >> text=Shifts")  # the nav's link to the rules page
            expect(page.locator("h1")).to_have_text("Shifts, holidays and leave")

            page.fill("#shift-name", "day")
            page.fill("#shift-start", "09:00")
            page.fill("#shift-end", "18:00")
            page.fill("#shift-grace-in", "5")
            page.fill("#shift-checkout-after", "120")
            page.fill("#shift-half-day", "4")
            page.check("#shift-on-holidays")
            page.uncheck("#shift-on-holidays")  # attendance is not marked on holidays: the day shows "holiday"
            page.screenshot(path=tmp_path / "rules-new-shift.png", full_page=True)
            page.click("#save-shift")
            expect(page.locator("#notice")).to_be_visible()
            expect(page.locator('tr[data-shift="day"]')).to_contain_text("09:00–18:00")
            expect(page.locator('tr[data-shift="day"]')).to_contain_text("Mon Tue Wed Thu Fri")

            page.select_option("#assign-employee", "E001")
            page.select_option("#assign-shift", label="day")
            page.fill("#assign-from", "2026-03-02")
            page.fill("#assign-to", "2026-03-06")
            page.click("#save-assignment")
            expect(page.locator('#assignments tr[data-employee="E001"]')).to_contain_text("2026-03-06")
            assert attendance.assignments(seeded, "E001")[0]["valid_to"] == "2026-03-06"

            page.goto(url + "/timesheets?from=2026-03-02&to=2026-03-04")
            tuesday = page.locator("#timesheets tbody tr", has_text="2026-03-03")
            expect(tuesday).to_contain_text("day")
            expect(tuesday).not_to_contain_text("holiday")
            page.screenshot(path=tmp_path / "timesheet-before-holiday.png", full_page=True)

            page.goto(url + "/attendance-rules")
            page.fill("#calendar-name", "CN 2026")
            page.check("#calendar-default")
            page.click("#create-calendar")
            calendar = page.locator('section[data-calendar="CN 2026"]')
            calendar.locator('input[name="day"]').fill("2026-03-03")
            calendar.locator('input[name="name"]').fill("Test holiday")
            calendar.locator('button[type="submit"]').last.click()
            expect(page.locator('section[data-calendar="CN 2026"] tr[data-day="2026-03-03"]')).to_contain_text(
                "Test holiday")
            page.screenshot(path=tmp_path / "rules-holiday.png", full_page=True)

            page.goto(url + "/timesheets?from=2026-03-02&to=2026-03-04")
            tuesday = page.locator("#timesheets tbody tr", has_text="2026-03-03")
            expect(tuesday).to_contain_text("holiday")
            expect(page.locator("#timesheets tbody tr", has_text="2026-03-02")).not_to_contain_text("holiday")
            page.screenshot(path=tmp_path / "timesheet-holiday.png", full_page=True)

            page.goto(url + "/attendance-rules?lang=zh-CN")  # the same page in Chinese
            expect(page.locator("h1")).to_contain_text("班次")
            expect(page.locator('tr[data-shift="day"]')).to_contain_text("周一")
            page.screenshot(path=tmp_path / "rules-zh.png", full_page=True)
        finally:
            browser.close()
