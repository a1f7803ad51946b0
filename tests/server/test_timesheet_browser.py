"""HR's timesheet and devices pages walked in Debian's Chromium against the served app, saving screenshots
(laptop 1280x800 and phone 390x844): HR signs in with a user account, filters the timesheets, reads a
person's period totals and the trend chart, adds a missed punch with a reason and sees the total change,
downloads the payroll CSV; IT rotates a device's keys and revokes another after the confirmation step."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.server.store import HRStore, audit, devices, open_hr_store
from tests.server.conftest import running_api
from tests.server.test_pages_browser import ARGS, CHROMIUM
from tests.server.timesheet_seed import NOW, PASSWORD, add_user, seed

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: run ops/setup.sh")


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[HRStore]:
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOW)
    seed(store)
    yield store
    store.close()


@pytest.fixture
def server_url(seeded: HRStore) -> Iterator[str]:
    with running_api(seeded) as url:
        yield url


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#user-login")
    page.wait_for_url(url + "/")


def fits(page: Any) -> bool:
    """No sideways scrolling of the page itself (wide tables scroll inside their own box)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_hr_reads_totals_and_chart_corrects_a_day_and_downloads_the_csv(
    seeded: HRStore, server_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    add_user(seeded, "hr.li", "hr")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(locale="en-GB", viewport=LAPTOP, accept_downloads=True)
            sign_in(page, server_url, "hr.li")
            page.click("header >> text=Timesheets")
            page.fill("#f-from", "2026-03-02")
            page.fill("#f-to", "2026-03-03")
            page.select_option("#f-site", "Plant")
            page.click("#f-show")
            expect(page.locator("#people-count")).to_have_text("(2)")  # E002 punched there, E003 is assigned
            page.fill("#f-q", "han")
            page.click("#f-show")
            row = page.locator('#totals tr[data-employee="E002"]')
            expect(page.locator("#totals tbody tr")).to_have_count(1)
            expect(row.locator(".worked")).to_have_text("8:00")
            expect(row.locator(".early")).to_have_text("60")
            expect(row.locator(".present")).to_have_text("2")
            chart = page.locator("#trend-chart")
            expect(chart).to_be_visible()
            assert chart.locator("rect.bar").count() == 2
            assert "Attendance rate" in chart.locator("title").first.text_content()
            page.click("#trend-table-box summary")
            expect(page.locator('#trend-table tr[data-day="2026-03-02"] .rate')).to_have_text("100%")
            page.screenshot(path=tmp_path / "timesheets-laptop.png", full_page=True)

            row.locator(".name a").click()
            expect(page.locator("#person-name")).to_contain_text("Han Meimei")
            expect(page.locator("#t-worked")).to_have_attribute("data-minutes", "480")
            expect(page.locator('#person-days tr[data-day="2026-03-03"]')).to_contain_text("missing punch")
            page.screenshot(path=tmp_path / "timesheet-person-before.png", full_page=True)
            page.fill("#add-day", "2026-03-03")
            page.fill("#add-time", "18:00")
            page.select_option("#add-direction", "out")
            page.fill("#add-reason", "badge left at home")
            page.click("#add-submit")
            expect(page.locator("#correction-done")).to_be_visible()
            expect(page.locator("#t-worked")).to_have_attribute("data-minutes", "1020")
            expect(page.locator("#corrections")).to_contain_text("badge left at home")
            expect(page.locator('#person-days tr[data-day="2026-03-03"]')).not_to_contain_text("missing punch")
            page.screenshot(path=tmp_path / "timesheet-person-corrected.png", full_page=True)

            page.click("#back")  # to the same filtered list
            expect(page.locator("#f-q")).to_have_value("han")
            expect(page.locator("#totals tbody tr")).to_have_count(1)
            expect(page.locator('#totals tr[data-employee="E002"] .worked')).to_have_text("17:00")
            with page.expect_download() as download:
                page.click("#csv")
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            rows = list(csv.DictReader(saved.read_text(encoding="utf-8-sig").splitlines()))
            assert [(r["employee_no"], r["day"], r["worked_minutes"]) for r in rows] == [
                ("E002", "2026-03-02", "480"), ("E002", "2026-03-03", "540")]

            page.click("#lang-switch")
            expect(page.locator("h1")).to_have_text("考勤表")
            page.set_viewport_size(PHONE)
            assert fits(page)
            page.screenshot(path=tmp_path / "timesheets-phone-zh.png", full_page=True)
            page.locator('#totals tr[data-employee="E002"] .name a').click()
            expect(page.locator("#add-submit")).to_be_visible()
            assert fits(page)
            page.screenshot(path=tmp_path / "timesheet-person-phone-zh.png", full_page=True)
        finally:
            browser.close()
    fixes = [e for e in audit.entries(seeded, "employee:E002") if e["action"] == "correction.create"]
    assert [f["detail"]["reason"] for f in fixes] == ["badge left at home"]


def test_it_rotates_keys_and_revokes_a_device_after_confirming(
    seeded: HRStore, server_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    add_user(seeded, "it.wang", "it")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(locale="en-GB", viewport=LAPTOP)
            sign_in(page, server_url, "it.wang")
            page.click("header >> text=Devices")
            gate1 = page.locator('tr[data-device="gate-1"]')
            expect(gate1.locator(".status")).to_contain_text("online")
            expect(gate1.locator(".clock")).to_contain_text("clock unsynchronised")
            expect(page.locator("#device-notes")).to_contain_text("software version")
            page.screenshot(path=tmp_path / "devices-laptop.png", full_page=True)

            page.click("#rotate-gate-1")
            expect(page.locator("#confirm-what")).to_contain_text("new keys")
            page.fill("#confirm-reason", "yearly rotation")
            page.click("#confirm-submit")
            expect(page.locator("#device-done")).to_contain_text("Key rotation requested")
            expect(page.locator("#rotation-gate-1")).to_be_visible()

            page.click("#revoke-gate-2")
            page.screenshot(path=tmp_path / "device-revoke-confirm.png", full_page=True)
            page.click("#confirm-submit")  # no reason yet: the browser keeps the form
            assert page.url.endswith("/devices/gate-2/confirm?action=revoke")
            assert devices.is_active(seeded, "gate-2")
            page.fill("#confirm-reason", "stolen from the plant")
            page.click("#confirm-submit")
            expect(page.locator("#device-done")).to_contain_text("ops/ca/edgehr-ca revoke")
            expect(page.locator('tr[data-device="gate-2"] .status')).to_contain_text("revoked")
            expect(page.locator("#revoke-gate-2")).to_have_count(0)
            page.screenshot(path=tmp_path / "devices-after.png", full_page=True)
            page.set_viewport_size(PHONE)
            assert fits(page)
            page.screenshot(path=tmp_path / "devices-phone.png", full_page=True)
        finally:
            browser.close()
    assert not devices.is_active(seeded, "gate-2")
    logged = {e["action"]: e["detail"] for e in audit.entries(seeded) if e["subject"].startswith("device:")}
    assert logged["device.revoke"]["reason"] == "stolen from the plant"
    assert logged["device.rotate-keys"]["reason"] == "yearly rotation"
