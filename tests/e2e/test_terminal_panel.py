"""The terminal's admin panel in Debian's Chromium, served by uvicorn over a real store and MockFactory GPIO
pins: the first run, login/logout/lockout, a punch on the dashboard, a correction that becomes an outbox
record, a refused setting, and a viewer who can change nothing. Screenshots go to the test's tmp folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from core.login_throttle import MAX_FAILURES
from core.serve import BackgroundServer
from device.store import outbox
from sync.protocol import PunchCorrectionBody
from tests.e2e.test_enrol_page import ARGS, CHROMIUM, free_port, no_sideways_scroll
from tests.panel.terminal_site import PASSWORD, VIEWER_PASSWORD, TerminalSite, build_terminal_site, punch

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")


def serve(site: TerminalSite) -> Iterator[str]:
    server = BackgroundServer(site.app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        site.close()


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[tuple[str, TerminalSite]]:
    site = build_terminal_site(tmp_path / "state")
    for url in serve(site):
        yield url, site


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def login(page: Page, url: str, user: str = "admin", password: str = PASSWORD) -> None:
    page.goto(f"{url}/admin/login?lang=en")
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("#login")


def test_first_run_creates_the_admin_at_the_device(tmp_path: Path, browser: Browser) -> None:
    site = build_terminal_site(tmp_path / "state", password=None)
    for url in serve(site):
        page = browser.new_page(viewport={"width": 800, "height": 480})
        page.goto(f"{url}/admin")
        expect(page.locator("#first-run")).to_be_visible()
        page.screenshot(path=tmp_path / "first-run.png", full_page=True)
        page.fill("#setup-password", PASSWORD)
        page.fill("#setup-repeat", PASSWORD + "x")
        page.click("#create-admin")
        expect(page.locator("#error")).to_be_visible()
        page.fill("#setup-password", PASSWORD)
        page.fill("#setup-repeat", PASSWORD)
        page.click("#create-admin")
        expect(page).to_have_url(re.compile(r"/admin/dashboard\?lang="))
        expect(page.locator("#account")).to_contain_text("admin")
        page.screenshot(path=tmp_path / "first-run-dashboard.png", full_page=True)
    assert (tmp_path / "state" / "keys" / "admin-password").stat().st_mode & 0o077 == 0


def test_login_logout_and_lockout(panel: tuple[str, TerminalSite], browser: Browser, tmp_path: Path) -> None:
    url, _ = panel
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, url)
    expect(page.locator("#dashboard")).to_be_visible()
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    page.goto(f"{url}/admin/dashboard?lang=en")
    expect(page.locator("#login")).to_be_visible()  # signed out: back to the login page
    for n in range(MAX_FAILURES):
        login(page, url, password=f"wrong guess {n}")
    expect(page.locator("#error")).to_contain_text("Wrong account or password")
    login(page, url)  # even the right password waits now
    expect(page.locator("#error")).to_contain_text("Too many wrong passwords")
    page.screenshot(path=tmp_path / "lockout.png", full_page=True)


def test_a_recorded_punch_shows_on_the_dashboard(panel: tuple[str, TerminalSite], browser: Browser,
                                                 tmp_path: Path) -> None:
    url, site = panel
    made = punch(site, "E1", minutes_ago=2)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, url)
    expect(page.locator("#punches-today")).to_have_text("1")
    hour = int(made.device_time[11:13])
    expect(page.locator(f'#hour-chart rect[data-hour="{hour}"]')).to_have_attribute("data-count", "1")
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    login(phone, url)
    expect(phone.locator("#punches-today")).to_have_text("1")
    no_sideways_scroll(phone, 390)
    phone.screenshot(path=tmp_path / "dashboard-phone.png", full_page=True)


def test_correct_a_punch_and_see_the_outbox_record(panel: tuple[str, TerminalSite], browser: Browser,
                                                   tmp_path: Path) -> None:
    url, site = panel
    wrong = punch(site, "E2")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url)
    page.click("nav.admin >> text=Punches")
    row = page.locator(f'tr[data-uid="{wrong.uid}"]')
    row.locator('input[name="reason"]').fill("not E2: a look-alike")
    row.locator("button.danger").click()
    expect(page.locator("#notice")).to_be_visible()
    expect(page.locator(f'tr[data-uid="{wrong.uid}"]')).to_contain_text("voided")
    expect(page.locator("#corrections")).to_contain_text("not E2: a look-alike")
    page.screenshot(path=tmp_path / "correction.png", full_page=True)
    rows = [r for r in outbox.pending(site.store, 10) if r.type == "punch-correction"]
    assert len(rows) == 1
    body = PunchCorrectionBody.model_validate(rows[0].body)
    assert (body.action, body.punch_uid, body.reason) == ("void", wrong.uid, "not E2: a look-alike")


def test_a_bad_setting_is_refused(panel: tuple[str, TerminalSite], browser: Browser, tmp_path: Path) -> None:
    url, site = panel
    before = site.config_path.read_bytes()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url)
    page.goto(f"{url}/admin/settings?lang=en")
    page.fill('input[name="camera.fps"]', "0")
    page.click("#save")
    expect(page.locator("#error")).to_contain_text("camera.fps")
    expect(page.locator('[id="f-camera.fps"] .field-error')).to_be_visible()
    page.screenshot(path=tmp_path / "settings-refused.png", full_page=True)
    assert site.config_path.read_bytes() == before and site.restarts == []


def test_a_viewer_cannot_change_anything(panel: tuple[str, TerminalSite], browser: Browser, tmp_path: Path) -> None:
    url, site = panel
    punch(site, "E1")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, url, "audrey", VIEWER_PASSWORD)
    for path in ("dashboard", "enrol", "enrol/E1", "punches", "settings", "diagnostics", "audit", "accounts"):
        page.goto(f"{url}/admin/{path}?lang=en")
        expect(page.locator("#account")).to_contain_text("viewer")
        buttons = page.locator("main button[type=submit]")
        labels = [buttons.nth(i).inner_text() for i in range(buttons.count())]
        assert set(labels) <= {"Search", "Show"}, (path, labels)
        assert page.locator("main input:not([disabled]):not([type=hidden]):not([type=search])"
                            ":not([name=day]):not([name=employee])").count() == 0, path
        page.screenshot(path=tmp_path / f"viewer-{path.replace('/', '-')}.png", full_page=True)
