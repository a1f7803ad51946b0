"""The admin panel on a booth: a real booth (``open_booth``, its own panel port) serves /admin/ beside the
booth screens. In Chromium: first run creates the admin account, the nav shows only what a booth mounts,
a session the candidate completed on the booth screen is listed with its upload state, an admin adds a
viewer who reads it; without a session every page leads to the login; face enrolment is not there."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from core.login_throttle import MAX_FAILURES
from device.booth.runner import BoothRunner, open_booth
from device.config.device import DeviceConfig
from device.store import open_store, outbox
from tests.booth.conftest import add_candidate
from tests.e2e.test_kiosk_page import ARGS, CHROMIUM, free_port

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
PASSWORD = "correct horse battery"  # set by the test itself: the repository holds no password
VIEWER_PASSWORD = "viewer staple battery"
ADMIN_ONLY_ON_A_TERMINAL = ("/admin/enrol", "/admin/punches", "/admin/settings", "/admin/diagnostics")


def post(url: str, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/booth/{step}", data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


@pytest.fixture
def booth(tmp_path: Path) -> Iterator[tuple[BoothRunner, str]]:
    state = tmp_path / "state"
    state.mkdir()
    store = open_store(state / "device.db")
    add_candidate(store)
    store.close()
    port = free_port()
    config = DeviceConfig.model_validate({
        "device": {"id": "booth-1", "name": "Booth 1", "kind": "booth", "language": "en", "state_dir": str(state)},
        "microphone": {"source": "fake"}, "asr": {"engine_en": "fake"}, "sync": {"enabled": False},
        "panel": {"host": "127.0.0.1", "port": port},
    })
    runner = open_booth(config, paced_replay=False, with_courier=False)
    runner.start()
    ticking = threading.Thread(target=runner.wait, kwargs={"timeout": 300.0}, daemon=True)
    ticking.start()
    try:
        yield runner, f"http://127.0.0.1:{port}"
    finally:
        runner.stop()
        ticking.join(timeout=10)


def complete_a_session(url: str) -> None:
    """The candidate's own steps on the booth screen's API, then ends the interview (no answers given)."""
    post(url, "checkin", {"code": "C-100"})
    post(url, "consent", {"lang": "en"})
    post(url, "demographics", {"answers": {}})
    post(url, "end")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/booth/state", timeout=5) as response:
            if json.loads(response.read())["phase"] == "done":
                return
        time.sleep(0.2)
    raise AssertionError("the booth never showed the end of the interview")


def test_a_site_admin_reads_the_booths_sessions_on_the_booth(booth: tuple[BoothRunner, str], tmp_path: Path) -> None:
    runner, url = booth
    complete_a_session(url)
    anonymous = httpx.Client(base_url=url, follow_redirects=False)
    for path in ("/admin/booth-sessions", "/admin/dashboard", "/admin/audit", "/admin/accounts"):
        refused = anonymous.get(path)
        assert refused.status_code == 303 and "/admin/login" in refused.headers["location"], path
    for path in ADMIN_ONLY_ON_A_TERMINAL:  # not mounted: a booth enrols no faces and records no punches
        assert anonymous.get(path).status_code == 404, path
    assert anonymous.post("/admin/setup", data={"password": PASSWORD, "repeat": PASSWORD},
                          headers={"Origin": "http://elsewhere.example"}).status_code == 403

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            page.goto(f"{url}/admin/login?lang=zh-CN")
            page.locator("#setup-password").fill(PASSWORD)
            page.locator("#setup-repeat").fill(PASSWORD)
            page.locator("#create-admin").click()
            expect(page).to_have_url(re.compile(r"/admin/dashboard"))
            expect(page.locator("#dash-sync")).to_be_visible()
            for absent in ("#dash-camera", "#dash-gpio", "#today"):  # nothing of punches or a camera
                expect(page.locator(absent)).to_have_count(0)
            expect(page.locator("#models")).to_contain_text("bank:customer-service-en")
            nav = page.locator("nav.admin a")
            expect(nav).to_have_count(4)
            assert [nav.nth(i).get_attribute("href").split("?")[0] for i in range(4)] == [  # type: ignore[union-attr]
                "/admin/dashboard", "/admin/audit", "/admin/booth-sessions", "/admin/accounts"]
            page.screenshot(path=str(tmp_path / "booth-admin-dashboard.png"))

            page.goto(f"{url}/admin/booth-sessions?lang=en")
            row = page.locator('[data-status="completed"]')
            expect(row).to_have_count(1)
            expect(row).to_contain_text("Li Wei")
            assert row.get_attribute("data-upload") == "queued"  # sync off: the result waits in the outbox
            delivered = [r.seq for r in outbox.pending(runner.store, 10)]
            outbox.mark_delivered(runner.store, delivered, int(time.time() * 1000))  # the server's ack
            page.reload()
            expect(page.locator('[data-status="completed"]')).to_have_attribute("data-upload", "delivered")
            page.goto(f"{url}/admin/dashboard?lang=en")
            expect(page.locator("#backlog")).to_have_text("0")
            expect(page.locator("#last-ack")).not_to_have_text("never")

            page.goto(f"{url}/admin/accounts?lang=en")
            page.locator("#account-name").fill("audrey")
            page.locator("#account-role").select_option("viewer")
            page.locator('#add input[name="password"]').fill(VIEWER_PASSWORD)
            page.locator('#add input[name="repeat"]').fill(VIEWER_PASSWORD)
            page.locator("#add-account").click()
            expect(page.locator("#notice")).to_be_visible()
            page.locator("#logout").click()
            expect(page).to_have_url(re.compile(r"/admin/login"))

            page.locator("#user").fill("audrey")
            page.locator("#password").fill(VIEWER_PASSWORD)
            page.locator("#login").click()
            page.goto(f"{url}/admin/booth-sessions?lang=zh-CN")
            expect(page.locator('[data-status="completed"]')).to_contain_text("Li Wei")
            expect(page.locator("#account")).to_contain_text("audrey")
            page.screenshot(path=str(tmp_path / "booth-admin-sessions-viewer.png"))
        finally:
            browser.close()
    assert httpx.get(f"{url}/booth/state").status_code == 200  # the booth screens are still served beside
    for _ in range(MAX_FAILURES):  # the terminal's login throttle, per client
        anonymous.post("/admin/login", data={"user": "audrey", "password": "not the password"})
    throttled = anonymous.post("/admin/login", data={"user": "audrey", "password": VIEWER_PASSWORD})
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
