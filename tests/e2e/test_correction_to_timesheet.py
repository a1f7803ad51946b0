"""A punch corrected on the terminal reaches HR's timesheet, with real parts in Debian's Chromium: a site's
mosquitto (mutual TLS) on a free loopback port, the HR server's ingest worker and pages, and a terminal's
admin panel with its courier. A clock-in recorded as the kiosk records it reaches the server; the terminal's
admin adds the missed clock-out with a reason; the courier carries the ``punch-correction`` record; HR,
signed in with a user account, sees the day's worked time and punches change and the correction with its
reason. Screenshots go to the test's tmp folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core.serve import BackgroundServer
from device.attendance.rules import PunchRules
from device.courier.settings_file import render_toml
from device.store import outbox
from drills.chaos_site import Site, running_courier, running_worker, wait_for
from fleet.broker import Mosquitto
from sync.server import users
from sync.server.store import HRStore, employees, open_hr_store
from tests.e2e.test_enrol_page import ARGS, CHROMIUM, free_port
from tests.e2e.test_terminal_panel import login
from tests.panel.terminal_site import TerminalSite, build_terminal_site, punch
from tests.server.conftest import running_api
from tests.sync.conftest import hr, site, site_broker  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")

TERMINAL = "site1-gate-a"  # the site's one device, serving the terminal's admin panel
HR_PASSWORD = "a long test passphrase"  # set by the test itself: the repository holds no password
REASON = "forgot to clock out at the gate"
#: How long the courier and the ingest worker get to carry a record to the HR store.
DELIVERY_SECONDS = 30.0


@pytest.fixture
def terminal(site: Site) -> Iterator[TerminalSite]:  # noqa: F811
    """The panel over the provisioned device's own state folder and database, its config keeping the site's
    ``[sync]`` settings (the courier reads the same file)."""
    device = site.devices[TERMINAL]
    sync = render_toml({"sync": device.config().sync.model_dump(mode="json")}).split("\n", 1)[1]
    built = build_terminal_site(device.state_dir, device_id=TERMINAL, extra_config=sync)
    yield built
    built.close()


def served(terminal: TerminalSite) -> Iterator[str]:
    server = BackgroundServer(terminal.app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def _minutes_into_work_day(terminal: TerminalSite) -> float:
    config = terminal.tools.config
    rules = PunchRules(config.attendance, terminal.tools.zone)
    now = datetime.now(UTC)
    start = datetime.combine(datetime.fromisoformat(rules.work_day(now)).date(), rules.starts, terminal.tools.zone)
    return (now - start).total_seconds() / 60


def _on_server(hr_store: HRStore, sql: str, *args: str) -> bool:
    with hr_store.db.read() as tx:
        return tx.execute(sql, args).one() is not None


def _hr_sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/login?lang=en")
    page.fill("#username", "hr.wang")
    page.fill("#password", HR_PASSWORD)
    page.click("#user-login")
    page.wait_for_url(f"{url}/")


def test_a_correction_on_the_terminal_reaches_the_timesheet(
    site: Site, site_broker: Mosquitto, hr: HRStore, terminal: TerminalSite, tmp_path: Path,  # noqa: F811
) -> None:
    employees.create(hr, "E1", "Li Lei", "test")  # HR's own register; the terminal's consent does not make people
    users.create_user(hr, "hr.wang", "hr", HR_PASSWORD, actor="test")
    # Both punches on one work day: the clock-in up to 40 min back, never before the day's start.
    minutes = _minutes_into_work_day(terminal)
    if minutes < 3:
        wait_for(lambda: _minutes_into_work_day(terminal) >= 3, "the work day's third minute", timeout=200, interval=1)
        minutes = _minutes_into_work_day(terminal)
    back = int(min(40.0, minutes - 1))
    clock_in = punch(terminal, "E1", "in", minutes_ago=back)
    api_store = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    with (running_worker(site), running_courier(site, TERMINAL, ack_timeout_seconds=1.0),
          running_api(api_store) as hr_url, sync_playwright() as p):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            wait_for(lambda: _on_server(hr, "SELECT 1 FROM punches WHERE uid = ?", clock_in.uid),
                     "the clock-in on the HR server", timeout=DELIVERY_SECONDS)
            person = f"{hr_url}/timesheets/people/E1?lang=en"
            hr_page = browser.new_page(viewport={"width": 1280, "height": 900})
            _hr_sign_in(hr_page, hr_url)
            hr_page.goto(person)
            day = hr_page.locator(f'#person-days tr[data-day="{clock_in.work_day}"]')
            expect(day.locator(f'li[data-uid="{clock_in.uid}"]')).to_be_visible()
            expect(day.locator("ul.punches li")).to_have_count(1)
            expect(day.locator(".worked")).to_have_text("0")
            expect(hr_page.locator("#t-worked")).to_have_attribute("data-minutes", "0")
            hr_page.screenshot(path=tmp_path / "hr-before.png", full_page=True)

            out_at = datetime.now(UTC).astimezone(terminal.tools.zone).replace(second=0, microsecond=0)
            for url in served(terminal):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                login(page, url)
                page.click("nav.admin >> text=Punches")
                add = page.locator("#add")
                add.locator('input[name="employee_no"]').fill("E1")
                add.locator('select[name="direction"]').select_option("out")
                add.locator('input[name="at"]').fill(out_at.strftime("%Y-%m-%dT%H:%M"))
                add.locator('input[name="reason"]').fill(REASON)
                page.click("#add-punch")
                expect(page.locator("#notice")).to_be_visible()
                expect(page.locator("#corrections")).to_contain_text(REASON)
                page.screenshot(path=tmp_path / "terminal-correction.png", full_page=True)
                wait_for(lambda: _on_server(hr, "SELECT 1 FROM corrections WHERE employee_no = ? AND reason = ?",
                                            "E1", REASON), "the correction on the HR server", timeout=DELIVERY_SECONDS)
                wait_for(lambda: outbox.backlog(terminal.store) == 0, "the server's acknowledgement",
                         timeout=DELIVERY_SECONDS)
                page.reload()  # the courier marked the record delivered: the panel says it was sent
                sent = page.locator("#corrections tr[data-seq]", has_text=REASON)
                expect(sent.locator("td").last).to_have_text("yes")

            worked = int((out_at - datetime.fromisoformat(clock_in.device_time)).total_seconds() // 60)
            hr_page.goto(f"{hr_url}/timesheets?lang=en")
            row = hr_page.locator('tr[data-employee="E1"]')
            expect(row.locator(".worked")).to_have_attribute("data-minutes", str(worked))
            hr_page.screenshot(path=tmp_path / "hr-timesheets.png", full_page=True)
            row.locator("td.name a").click()
            expect(hr_page.locator("#person-name")).to_contain_text("Li Lei")
            expect(hr_page.locator("#t-worked")).to_have_attribute("data-minutes", str(worked))
            expect(day.locator(".worked")).to_have_text(str(worked))
            expect(day.locator("ul.punches li")).to_have_count(2)
            expect(day.locator("ul.punches li").nth(1)).to_contain_text(out_at.strftime("%H:%M"))
            correction = hr_page.locator("#corrections tbody tr")
            expect(correction).to_have_count(1)
            expect(correction.locator(".reason")).to_have_text(REASON)
            expect(correction).to_contain_text(f"device:{TERMINAL}:admin")
            hr_page.screenshot(path=tmp_path / "hr-after.png", full_page=True)
        finally:
            browser.close()
            api_store.close()
