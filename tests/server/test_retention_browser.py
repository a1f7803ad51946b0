"""HR's retention page in Debian's Chromium against the real server (uvicorn): an admin changes a site's
policy with a reason (zh-CN form, audited, queued for the site's booth) and reads the deletion log with a
booth's run (ingested as a ``retention-run`` record) beside the server's; HR reads the same page without the
form; a form without the page's CSRF token changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync.protocol import RetentionRunBody, RetentionRunRecord
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.config import BrokerSection, ServerConfig
from sync.server.pages.common import TOKEN_COOKIE
from sync.server.store import HRStore, open_hr_store, records, retention
from tests.server.builders import register
from tests.server.conftest import running_api
from tests.server.test_review_browser import ARGS, CHROMIUM, signed_in

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOTS = Path(os.environ["EDGEHR_SHOTS"]) if os.environ.get("EDGEHR_SHOTS") else None  # screenshots to look at


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[HRStore]:
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOW)
    register(store, "booth-1")  # site HQ
    run = RetentionRunBody(ran_at_ms=int(NOW.timestamp() * 1000), policy="config", audio_days=30, transcript_days=365,
                           audio_sessions=3, audio_files=7, audio_bytes=5 * 1048576, transcript_sessions=2, answers=9,
                           held_unsent=1)  # fmt: skip
    record = RetentionRunRecord(seq=1, ref="retention-1", created_at_ms=run.ran_at_ms, clock_synced=True,
                                type="retention-run", body=run)  # fmt: skip
    assert records.ingest(store, "booth-1", [record]).stored == [1]
    retention.run(store, started_by="retention-job")
    yield store
    store.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: run ops/setup.sh")
def test_an_admin_changes_a_policy_with_a_reason_and_hr_reads_the_deletion_log(seeded: HRStore) -> None:
    from playwright.sync_api import sync_playwright

    with running_api(seeded) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page: Any = signed_in(browser, url, create_token(seeded, "admin"), locale="zh-CN")
            page.goto(url + "/retention?lang=zh-CN")
            assert "数据保留" in page.locator("h1").inner_text()
            booth = page.locator('#booth-runs tr[data-device="booth-1"]')
            assert booth.locator(".audio-sessions").inner_text() == "3"
            assert booth.locator(".answers").inner_text() == "9"
            assert "面试亭本机设置" in booth.inner_text() and "5.0" in booth.inner_text()
            assert page.locator("#server-runs tbody tr").count() == 1
            page.locator("#policy-site").select_option("HQ")
            page.locator("#policy-audio").fill("14")
            page.locator("#policy-transcript").fill("180")
            page.locator("#policy-reason").fill("法务部要求缩短保留期")
            page.locator("#policy-save").click()
            page.wait_for_url(url + "/retention?done=HQ")
            hq = page.locator('#policies tr[data-site="HQ"]')
            assert hq.locator(".audio-days").inner_text() == "14"
            assert hq.locator(".transcript-days").inner_text() == "180"
            assert "法务部要求缩短保留期" in page.locator("#changes tbody tr").first.inner_text()
            assert "等待设备确认" in page.locator('#devices tr[data-device="booth-1"]').inner_text()
            if SHOTS:
                page.screenshot(path=str(SHOTS / "retention-page.png"), full_page=True)

            hr_page: Any = signed_in(browser, url, create_token(seeded, "hr"))
            hr_page.goto(url + "/retention?lang=en")
            assert hr_page.locator("#edit-policy").count() == 0 and hr_page.locator("#read-only").is_visible()
            assert "14 / 180" in hr_page.locator("#changes tbody tr").first.inner_text()
            assert "Kept: result not yet stored here" in hr_page.locator("#booth-runs").inner_text()
        finally:
            browser.close()
    sent = retention.policies(seeded)
    assert {p["site"]: (p["audio_days"], p["transcript_days"]) for p in sent}["HQ"] == (14, 180)


def test_a_form_without_the_pages_token_or_a_reason_changes_nothing(seeded: HRStore) -> None:
    app = create_app(ServerConfig(broker=BrokerSection(tls=False)), seeded)
    with TestClient(app) as client:
        client.cookies.set(TOKEN_COOKIE, create_token(seeded, "admin"))
        form = {"site": "HQ", "audio_days": "1", "transcript_days": "2", "reason": "r"}
        assert client.post("/retention/policy", data=form).status_code == 400  # no CSRF token
        csrf = client.get("/retention").text.split('name="csrf" value="')[1].split('"')[0]
        assert client.post("/retention/policy", data=form | {"csrf": csrf, "reason": " "}).status_code == 400
        wrong = client.post("/retention/policy", data=form | {"csrf": csrf, "audio_days": "9"})
        assert wrong.status_code == 400 and "outlive" in wrong.text
    assert all(not p["own_policy"] for p in retention.policies(seeded))
