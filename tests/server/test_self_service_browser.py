"""Journey in Chromium against the real HR app: an employee signs in and sees only their own data (on a
phone, 390x844, in zh-CN and en), files a correction request for a missed punch, HR accepts it on a laptop,
and the employee sees the corrected hours. Screenshots are saved in the test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.server import users
from sync.server.store import HRStore
from tests.server.builders import USER_PASSWORD
from tests.server.test_pages_browser import ARGS, CHROMIUM, seeded, server_url  # noqa: F401 - fixtures

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


def sign_in(page: object, url: str, username: str, lang: str = "en") -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.goto(f"{url}/login?lang={lang}")
    page.fill("#username", username)
    page.fill("#password", USER_PASSWORD)
    page.click("#user-login")


def fits(page: object) -> bool:
    """Nothing on the page is wider than the window (tables scroll inside their own box)."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: run ops/setup.sh")
def test_an_employee_signs_in_and_sees_only_their_own_data(seeded: HRStore, server_url: str,  # noqa: F811
                                                           tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    users.create_user(seeded, "hr.lead", "admin", USER_PASSWORD, actor="test")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            laptop = browser.new_page(viewport=LAPTOP, locale="en-GB")
            sign_in(laptop, server_url, "hr.lead")  # the admin links an account to employee E002
            laptop.wait_for_url(f"{server_url}/")
            laptop.click("header >> text=Users")
            laptop.fill("#new-username", "han.meimei")
            laptop.select_option("#new-role", "employee")
            laptop.fill("#new-employee", "E002")
            laptop.fill("#new-password", USER_PASSWORD)
            laptop.fill("#new-repeat", USER_PASSWORD)
            laptop.click("#create-user")
            expect(laptop.locator('tr[data-user="han.meimei"]')).to_contain_text("employee · E002")
            laptop.screenshot(path=tmp_path / "hr-users-employee-link.png", full_page=True)
            laptop.click("#logout")

            phone = browser.new_page(viewport=PHONE, locale="zh-CN")
            sign_in(phone, server_url, "han.meimei", "zh-CN")
            phone.wait_for_url(f"{server_url}/me")  # an employee's home is their own attendance
            expect(phone.locator("h1")).to_have_text("我的考勤")
            expect(phone.locator("#my-number")).to_have_text("E002")
            expect(phone.locator("#punches tr[data-uid]")).to_have_count(1)  # 09:15 in, nothing of 李雷's
            assert "李雷" not in phone.content() and "E001" not in phone.content()
            expect(phone.locator("#total-hours")).to_have_attribute("data-minutes", "0")  # no out, no hours yet
            expect(phone.locator("header a")).to_have_count(2)  # "my attendance" and the language switch
            assert fits(phone)
            phone.screenshot(path=tmp_path / "employee-me-phone-zh.png", full_page=True)
            phone.goto(f"{server_url}/timesheets")
            assert "李雷" not in phone.content()
            phone.goto(f"{server_url}/me?lang=en")
            phone.check("#kind-add")
            phone.select_option("#req-direction", "out")
            phone.fill("#req-day", "2026-03-02")
            phone.fill("#req-clock", "11:45")
            phone.fill("#req-reason", "Left through the side door, the gate was closed")
            phone.click("#req-submit")
            expect(phone.locator("#notice")).to_be_visible()
            expect(phone.locator("#requests tr[data-status=pending]")).to_have_count(1)
            assert fits(phone)
            phone.screenshot(path=tmp_path / "employee-request-phone-en.png", full_page=True)
            phone.click("#logout")

            sign_in(laptop, server_url, "hr.lead")
            laptop.wait_for_url(f"{server_url}/")
            laptop.click("header >> text=Correction requests")
            row = laptop.locator("#requests tr[data-status=pending]")
            expect(row).to_contain_text("Han Meimei")
            expect(row).to_contain_text("side door")
            laptop.screenshot(path=tmp_path / "hr-requests-laptop.png", full_page=True)
            row.locator("button.accept").click()
            expect(laptop.locator("#requests tr[data-status=pending]")).to_have_count(0)
            laptop.goto(f"{server_url}/correction-requests?status=accepted&lang=en")
            expect(laptop.locator("#requests tr[data-status=accepted]")).to_contain_text("hr.lead")
            # HR's own timesheet agrees (read with the signed-in browser's session, as the API now allows).
            sheet = laptop.request.get(f"{server_url}/api/timesheets?from=2026-03-02&to=2026-03-02&employee_no=E002")
            assert [r["worked_minutes"] for r in sheet.json()["rows"]] == [150]
            laptop.screenshot(path=tmp_path / "hr-requests-accepted.png", full_page=True)
            laptop.click("#logout")

            sign_in(phone, server_url, "han.meimei")
            phone.wait_for_url(f"{server_url}/me")
            expect(phone.locator("#total-hours")).to_have_attribute("data-minutes", "150")  # 09:15 .. 11:45
            expect(phone.locator('#days tr[data-day="2026-03-02"] td.hours')).to_have_text("2.50")
            expect(phone.locator("#requests tr[data-status=accepted]")).to_have_count(1)
            assert "李雷" not in phone.content()
            phone.screenshot(path=tmp_path / "employee-corrected-phone-en.png", full_page=True)
            phone.set_viewport_size(LAPTOP)
            phone.goto(f"{server_url}/me?lang=zh-CN")
            expect(phone.locator("#requests")).to_contain_text("已接受")
            assert fits(phone)
            phone.screenshot(path=tmp_path / "employee-corrected-laptop-zh.png", full_page=True)
        finally:
            browser.close()
