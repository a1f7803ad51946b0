"""The booth's self-report screen in Debian's Chromium at 800x480: after consent the candidate sees the
optional form (zh-CN, then English), taps a category (and taps one again to clear it), continues, and the
first question follows; the answers are queued as their own record. Skipping queues nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from core.serve import BackgroundServer
from device.panel.app import create_app as device_app
from device.panel.booth import booth_router
from device.store import Store
from tests.booth.conftest import answers, make_booth, store  # noqa: F401 - fixtures
from tests.e2e.test_kiosk_page import ARGS, CHROMIUM, free_port

SHOTS = Path(os.environ["EDGEHR_SHOTS"]) if os.environ.get("EDGEHR_SHOTS") else None  # screenshots to look at
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")


@pytest.fixture
def booth_url(store: Store, tmp_path: Path, answers: Path) -> Iterator[str]:  # noqa: F811
    booth = make_booth(store, tmp_path, answers)
    app = device_app(health=lambda: None, extra_routers=[booth_router(  # type: ignore[arg-type,return-value]
        booth, device_name="Booth A", default_language="zh-CN")])
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        booth.close()


def reports(store: Store) -> list[dict[str, Any]]:  # noqa: F811
    rows = store.conn.execute("SELECT body FROM outbox WHERE type = 'candidate-demographics'").fetchall()
    return [json.loads(r[0]) for r in rows]


def to_the_form(page: Any, url: str) -> None:
    page.goto(f"{url}/booth")
    page.locator("#code").fill("C-100")
    page.locator("#checkin").click()
    page.locator("#consent").click()
    expect(page.locator("#phase-demographics")).to_be_visible()


def test_the_candidate_answers_two_questions_and_the_interview_starts(store: Store, booth_url: str) -> None:  # noqa: F811
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            to_the_form(page, booth_url)
            expect(page.locator("#phase-demographics")).to_contain_text("不愿透露")
            expect(page.locator("#demo-skip")).to_have_text("跳过，开始面试")
            page.locator("#lang").click()
            expect(page.locator("#phase-demographics")).to_contain_text("Prefer not to say")
            sex = page.locator('.demo-q[data-dimension="sex"]')
            sex.locator('[data-value="male"]').click()
            sex.locator('[data-value="female"]').click()  # one choice per question
            ethnicity = page.locator('.demo-q[data-dimension="ethnicity"]')
            ethnicity.locator('[data-value="han"]').click()
            ethnicity.locator('[data-value="han"]').click()  # tapped again: cleared
            age = page.locator('.demo-q[data-dimension="age_band"]')
            age.locator('[data-value="prefer-not-to-say"]').click()
            expect(page.locator(".choice.chosen")).to_have_count(2)
            for locator in (page.locator("#phase-demographics"), page.locator("#demo-submit")):
                box = locator.bounding_box()
                assert box is not None and box["y"] + box["height"] <= 480 and box["x"] + box["width"] <= 800
            if SHOTS:
                page.screenshot(path=str(SHOTS / "booth-self-report.png"))
            page.locator("#demo-submit").click()
            expect(page.locator("#question-number")).to_have_text("Question 1 of 4")
        finally:
            browser.close()
    [report] = reports(store)
    assert report["answers"] == {"sex": "female", "age_band": "prefer-not-to-say"}


def test_skipping_the_form_queues_nothing(store: Store, booth_url: str) -> None:  # noqa: F811
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 480})
            to_the_form(page, booth_url)
            page.locator('.demo-q[data-dimension="sex"] [data-value="other"]').click()
            page.locator("#demo-skip").click()  # skip means skip, whatever was tapped
            expect(page.locator("#question-number")).to_have_text("第 1 题，共 4 题")
        finally:
            browser.close()
    assert reports(store) == []
