"""The kiosk header clock shows the site's time zone (the punch card's), not the kiosk browser's."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import sync_playwright

from core.serve import BackgroundServer
from device.attendance.screen import KioskScreen
from device.health import Health
from device.panel.app import create_app
from device.panel.kiosk import kiosk_router
from tests.e2e.test_enrol_page import ARGS, CHROMIUM, free_port

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
SITE = "Pacific/Kiritimati"  # UTC+14: no browser zone below can show the same hour


@pytest.fixture
def kiosk_url() -> Iterator[str]:
    screen = KioskScreen(device_name="Gate A", default_language="en", monotonic_ns=time.monotonic_ns)
    health = Health("gate-1", True, 0, 1.0, None, True, 0, True, "ok")
    app = create_app(health=lambda: health, default_language="en",
                     extra_routers=[kiosk_router(screen, default_language="en", timezone=SITE)])
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.parametrize("browser_zone", ["UTC", "America/Los_Angeles"])
def test_the_header_clock_is_in_the_sites_zone(kiosk_url: str, browser_zone: str, tmp_path: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480}, timezone_id=browser_zone)
            page.goto(f"{kiosk_url}/kiosk?lang=en")
            page.wait_for_function("document.getElementById('clock').textContent.length > 0")
            shown = page.locator("#clock").inner_text()
            page.screenshot(path=tmp_path / "kiosk-clock.png")
        finally:
            browser.close()
    hours = re.match(r"(\d{1,2}):(\d{2})", shown)
    assert hours, shown
    site_now = datetime.now(UTC).astimezone(ZoneInfo(SITE))
    browser_now = datetime.now(UTC).astimezone(ZoneInfo(browser_zone))
    assert int(hours.group(1)) % 24 in {site_now.hour, (site_now.hour - 1) % 24}  # a minute may have turned
    assert int(hours.group(1)) != browser_now.hour
