"""The enrolment page in Debian's Chromium at the terminal's 800x480, over the REAL face pipeline: admin login,
consent, photo upload with a per-image report (reason codes in zh-CN and en), audited deletion."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core.serve import BackgroundServer
from device.panel.enrolment import consent_version
from tests.attendance.real_vision import requires_vision
from tests.e2e.cjk import assert_cjk_renders
from tests.panel.site import PASSWORD, Site, bad_photos, build_site, good_photos

pytestmark = requires_vision

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Site]]:
    from device.attendance.vision_parts import open_vision
    from tests.panel.site import device_config

    built = build_site(tmp_path, open_vision(device_config(tmp_path)))
    server = BackgroundServer(built.app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url, built
    finally:
        server.stop()
        built.store.close()


def files(items: list[tuple[str, bytes]]) -> list[Any]:
    return [{"name": name, "mimeType": "image/jpeg", "buffer": data} for name, data in items]


def no_sideways_scroll(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_enrol_from_photos_then_delete(site: tuple[str, Site]) -> None:
    url, built = site
    good = [(p.name, p.read_bytes()) for p in good_photos()[:3]]
    bad = [(name, data) for name, data, _ in bad_photos()]
    expected = {name: reason for name, _, reason in bad_photos()}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480}, locale="zh-CN")
            page.goto(f"{url}/admin/enrol")
            expect(page.locator("h1")).to_have_text("管理员登录")  # a Chinese browser gets Chinese
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("#login").click()
            expect(page.locator("h1")).to_have_text("人脸录入")
            assert_cjk_renders(page)  # the Chinese is drawn with real glyphs, not empty boxes
            # Consent: the text and its version are shown; the admin records that the employee signed.
            expect(page.locator("#consent-version")).to_contain_text(consent_version())
            expect(page.locator("#consent-text")).to_contain_text("人脸模板")
            page.locator("input[name=employee_no]").fill("E7")
            page.locator("input[name=name]").fill("王芳 Wang Fang")
            page.locator("input[name=signed]").check()
            page.locator("#record-consent").click()
            expect(page.locator("#consent")).to_contain_text(consent_version())
            no_sideways_scroll(page, 800)
            # Good and bad photos in one upload: a verdict for each, reasons as codes with zh-CN and en text.
            page.locator("input[name=photos]").set_input_files(files(good + bad))
            page.locator("#upload").click()
            expect(page.locator("#outcome")).to_have_text("录入成功：由 3 张合格图片生成 3 个模板。")
            for name, _ in good:
                expect(page.locator(f'tr[data-name="{name}"] td').nth(1)).to_have_text("已采用")
            for name, reason in expected.items():
                cell = page.locator(f'tr[data-name="{name}"] td').nth(1)
                expect(cell.locator("code")).to_have_text(reason)
            expect(page.locator('tr[data-name="couple.jpg"]')).to_contain_text("包含多张人脸")
            expect(page.locator('tr[data-name="couple.jpg"]')).to_contain_text("more than one face")
            no_sideways_scroll(page, 800)
            # In English: a re-enrolment from bad photos only is refused and keeps the working templates.
            page.locator("#lang").click()
            expect(page.locator("#templates")).to_have_text("3 face template(s) stored.")
            page.locator("input[name=photos]").set_input_files(files(bad))
            page.locator("#upload").click()
            expect(page.locator("#outcome")).to_have_text(
                "Not enrolled: 0 good image(s), 3 needed. Any previous templates were kept.")
            expect(page.locator('tr[data-name="blurred.jpg"] td').nth(1)).to_contain_text("blurred")
            expect(page.locator('tr[data-name="notes.jpg"] td').nth(1)).to_contain_text("cannot be read as an image")
            expect(page.locator("#templates")).to_have_text("3 face template(s) stored.")
            # Delete: confirmed by typing the number; the templates go at once, and the audit log says who.
            page.locator("input[name=confirm]").fill("E7")
            page.locator("input[name=reason]").fill("left the company")
            page.locator("#delete-templates").click()
            expect(page.locator("#notice")).to_have_text("Face templates of E7 were deleted.")
            expect(page.locator('tr[data-employee="E7"] .templates')).to_have_text("0")
            # The same page on a desktop screen.
            page.set_viewport_size({"width": 1280, "height": 800})
            no_sideways_scroll(page, 1280)
        finally:
            browser.close()
    conn = built.store.conn
    assert conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == 0
    consent = conn.execute("SELECT subject_ref, text_version, recorded_by, recorded_at FROM consents").fetchone()
    assert consent[:3] == ("E7", consent_version(), "panel:admin@127.0.0.1") and consent[3]
    actor, detail = conn.execute("SELECT actor, detail FROM audit_log WHERE action = 'face.delete'").fetchone()
    assert actor == "panel:admin@127.0.0.1"
    assert json.loads(detail) == {"reason": "left the company", "templates": 3}
    enrolments = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'face.enrol'").fetchone()[0]
    assert enrolments == 1  # the refused re-enrolment changed nothing
