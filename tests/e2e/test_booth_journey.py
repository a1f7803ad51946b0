"""A candidate's journey through the booth in Debian's Chromium at 800x480: HR schedules them, the booth
receives the list, the candidate checks in, reads the notice, consents, fills in the optional self-report
(it reaches the auditors' table apart from the report), answers two questions from
replayed WAV recordings (the real English recogniser), and the result reaches HR's report API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright

from core.clock import SystemClock
from core.serve import BackgroundServer
from device.booth.flow import Booth
from device.booth.parts import BankShelf, EngineCache, Microphones
from device.config.booth import AsrSection, BoothSection, MicrophoneSection
from device.panel.app import create_app as device_app
from device.panel.booth import booth_router
from device.store import Store, open_store, outbox
from device.store import candidates as booth_candidates
from drills.chaos_site import Site, running_courier, running_worker, wait_for
from fleet.broker import Mosquitto
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.store import HRStore
from tests.booth.conftest import JFK, LJ
from tests.e2e.test_kiosk_page import ARGS, CHROMIUM, free_port
from tests.interview.conftest import needs_minilm, needs_moonshine
from tests.sync.conftest import hr, site, site_broker  # noqa: F401 - fixtures

BOOTH = "site1-gate-a"  # the site's one device, acting as a booth


@pytest.fixture
def booth_store(site: Site) -> Iterator[Store]:  # noqa: F811
    store = open_store(site.devices[BOOTH].database, check_same_thread=False)
    yield store
    store.close()


@needs_moonshine
@needs_minilm
def test_candidate_journey_reaches_hrs_report(site: Site, site_broker: Mosquitto, hr: HRStore,  # noqa: F811
                                              booth_store: Store, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {create_token(hr, 'hr')}"}
    start = datetime.now(UTC) - timedelta(minutes=5)
    candidate = {"candidate_id": "C-7", "name": "Li Wei", "role_id": "customer-service",
                 "question_bank_id": "customer-service-en", "window_start": start.isoformat(),
                 "window_end": (start + timedelta(hours=2)).isoformat(), "device_id": BOOTH}
    with TestClient(create_app(site.server_config(), hr)) as client:
        assert client.post("/api/candidates", json=candidate, headers=headers).status_code == 201
    with running_worker(site), running_courier(site, BOOTH, ack_timeout_seconds=1.0):
        wait_for(lambda: bool(booth_candidates.current(booth_store)), "the candidate list on the booth")

    answers = tmp_path / "answers"
    answers.mkdir()
    shutil.copy(JFK, answers / "1.wav")
    shutil.copy(LJ, answers / "2.wav")
    booth = Booth(store=booth_store, clock=SystemClock(), shelf=BankShelf.load(None), settings=BoothSection(),
                  engines=EngineCache(AsrSection()), audio_dir=tmp_path / "audio",
                  microphones=Microphones(MicrophoneSection(source="wav", path=answers), paced=False))
    app = device_app(health=lambda: None, extra_routers=[booth_router(  # type: ignore[arg-type,return-value]
        booth, device_name="Booth A", default_language="zh-CN")])
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 800, "height": 480})
                page.goto(f"{server.url}/booth")
                expect(page.locator("#phase-welcome")).to_contain_text("面试码")
                page.locator("#lang").click()
                expect(page.locator("#phase-welcome")).to_contain_text("interview code")
                page.locator("#code").fill("C-7")
                page.locator("#checkin").click()
                expect(page.locator("#hello")).to_have_text("Hello, Li Wei")
                expect(page.locator("#notice-text")).to_contain_text("deleted from this booth after 30 days")
                page.locator("#consent").click()
                expect(page.locator("#phase-demographics")).to_contain_text("Prefer not to say")
                page.locator('.demo-q[data-dimension="sex"] [data-value="male"]').click()
                page.locator("#demo-submit").click()
                expect(page.locator("#question-number")).to_have_text("Question 1 of 4")
                expect(page.locator("#countdown")).to_contain_text("s left")
                page.locator("#start").click()
                expect(page.locator("#next")).to_be_visible(timeout=90_000)  # the answer ended with the replay
                expect(page.locator("#transcript")).to_contain_text("country")
                page.locator("#next").click()
                expect(page.locator("#question-number")).to_have_text("Question 2 of 4")
                page.locator("#start").click()
                expect(page.locator("#next")).to_be_visible(timeout=90_000)
                expect(page.locator("#transcript")).not_to_be_empty()
                box = page.locator("#phase-question").bounding_box()
                assert box is not None and box["y"] + box["height"] <= 480
                page.locator("#end").click()
                expect(page.locator("#done")).to_be_visible(timeout=90_000)
                expect(page.locator("#reference")).to_contain_text("s-")
            finally:
                browser.close()
    finally:
        server.stop()
        booth.close()

    with running_worker(site), running_courier(site, BOOTH, ack_timeout_seconds=1.0):
        wait_for(lambda: outbox.backlog(booth_store) == 0, "the booth's outbox to drain")
    session_id = booth.result_ref
    with TestClient(create_app(site.server_config(), hr)) as client:
        report = client.get(f"/api/interviews/{session_id}", headers=headers).json()
    assert report["candidate_id"] == "C-7" and report["device_id"] == BOOTH
    assert len(report["answers"]) == 2
    assert "ask not what your country can do for you" in report["answers"][0]["transcript"].lower()
    assert {s["competency"] for s in report["scores"]} >= {"overall"}
    assert all(s["evidence"] for s in report["scores"])
    auditor = {"Authorization": f"Bearer {create_token(hr, 'auditor')}"}
    with TestClient(create_app(site.server_config(), hr)) as client:  # the self-report, apart from the report
        assert client.get("/api/candidates/C-7/demographics", headers=auditor).json()["answers"] == {"sex": "male"}
