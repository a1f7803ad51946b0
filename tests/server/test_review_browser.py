"""HR's interview pages in Debian's Chromium against the real server (uvicorn): a reviewer reads the
evidence and overrides a score (audit entry, new ranking); an auditor sees the flagged group of a bias audit
whose impact ratios are known; HR exports a candidate's data and erases it (gone from the report, the
audit's counts updated, the booth's confirmation shown)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync.server.auth import create_token
from sync.server.store import HRStore, downlinks, open_hr_store
from sync.server.store import demographics as demographics_store
from sync.server.store import review as review_store
from tests.server.builders import register
from tests.server.conftest import running_api
from tests.server.review_builders import ingest_sessions, session_body

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed: run ops/setup.sh")


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[HRStore]:
    """backend-dev: C-1 75%, C-2 80%, C-3 45%. sales: 5 women (1 advanced) and 5 men (4 advanced): the
    women's selection impact ratio is 0.2 / 0.8 = 0.25."""
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOW)
    register(store, "booth-1")
    ingest_sessions(store, "booth-1", [
        session_body("S-1", "C-1", scores=(4.0, 3.0, 4.0)),
        session_body("S-2", "C-2", scores=(3.0, 5.0, 5.0), flags=["second-face"]),
        session_body("S-3", "C-3", scores=(2.0, 2.0, 3.0)),
    ])  # fmt: skip
    sales = [session_body(f"S-s{i}", f"C-s{i}", "sales", scores=(float(1 + i % 5), 3.0, 3.0)) for i in range(10)]
    ingest_sessions(store, "booth-1", sales, first_seq=4)
    for i in range(10):
        demographics_store.record(store, f"C-s{i}", {"sex": "female" if i < 5 else "male"}, "booth", "test")
        decision = "advance" if i == 0 or i >= 6 else "reject"
        review_store.decide(store, f"C-s{i}", "sales", decision, "panel", "test")
    yield store
    store.close()


@pytest.fixture
def server_url(seeded: HRStore) -> Iterator[str]:
    with running_api(seeded) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in(browser: Any, url: str, token: str, locale: str = "en") -> Any:
    page = browser.new_page(locale=locale)
    page.goto(url + "/login")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_url(url + "/")
    return page


def test_reviewer_reads_the_evidence_overrides_a_score_and_sees_the_audit_entry_and_new_ranking(
    seeded: HRStore, server_url: str, browser: Any
) -> None:
    page = signed_in(browser, server_url, create_token(seeded, "reviewer"))
    page.goto(server_url + "/interviews?role=backend-dev")
    ranking = page.locator("#ranking tbody tr")
    assert [ranking.nth(i).get_attribute("data-candidate") for i in range(3)] == ["C-2", "C-1", "C-3"]
    page.locator('tr[data-candidate="C-1"] a.open').click()
    page.wait_for_url(server_url + "/interviews/S-1")
    assert page.locator("#overall").inner_text() == "75.0"
    ownership = page.locator('#scores tr[data-competency="ownership"]')
    evidence = ownership.locator(".evidence").inner_text()
    assert "behavioural anchor level 0.80" in evidence  # sub-scores, named in the page's language
    assert "Names the risk to customers" in evidence  # a key point naming no question stays with its score
    # Matches naming their question are laid out under that answer, beside its transcript.
    q1 = page.locator('.answer[data-question="q1"]').inner_text()
    assert "I wrote the rollback plan myself" in q1 and "anchor 4" in q1
    assert "Takes responsibility for outcomes" in q1
    assert "131.0" in page.locator("#delivery").inner_text()  # delivery apart from the scores
    assert page.locator("#radar polygon.current").count() == 1
    assert "I explained the trade-offs" in page.locator('.answer[data-question="q2"] .transcript').inner_text()

    row = page.locator('#scores tr[data-competency="communication"]')
    row.locator('input[name="score"]').fill("5")
    row.locator('input[name="reason"]').fill("Clear answer; the booth missed the summary")
    row.locator("button").click()
    page.wait_for_url(server_url + "/interviews/S-1#overrides")
    assert page.locator("#overall").inner_text() == "85.0"
    row = page.locator('#scores tr[data-competency="communication"]')
    assert row.locator(".original").inner_text() == "3.0 / 5" and row.locator(".current").inner_text().startswith(
        "5.0 / 5"
    )
    audit = page.locator("#audit tbody tr").first.inner_text()
    assert "interview.override" in audit and "Clear answer; the booth missed the summary" in audit
    assert "3.0" in audit and "5.0" in audit and "token:" in audit

    page.locator("#decide select").select_option("advance")
    page.locator('#decide input[name="reason"]').fill("Evidence holds up")
    page.locator("#decide button").click()
    assert "advance" in page.locator("#current-decision").inner_text()

    page.goto(server_url + "/interviews?role=backend-dev")
    first = page.locator("#ranking tbody tr").first
    assert first.get_attribute("data-candidate") == "C-1" and first.locator(".rank").inner_text() == "1"
    assert first.locator(".overall").inner_text().startswith("85.0")
    page.click("#lang-switch")
    assert page.locator("h1").inner_text() == "面试"
    assert "进入下一轮" in page.locator('tr[data-candidate="C-1"] .status').inner_text()


def test_auditor_sees_the_flagged_group_and_how_it_is_computed(seeded: HRStore, server_url: str, browser: Any) -> None:
    page = signed_in(browser, server_url, create_token(seeded, "auditor"))
    page.goto(server_url + "/bias-audit?role=sales")
    assert page.locator("#totals").inner_text().startswith("Candidates in the audit: 10")
    female = page.locator('[data-dimension="sex"] tr[data-category="female"]')
    assert female.locator(".selection-ir").inner_text() == "0.250"
    assert "under 0.8" in female.locator(".marks").inner_text()
    male = page.locator('[data-dimension="sex"] tr[data-category="male"]')
    assert male.locator(".selection-ir").inner_text() == "1.000" and male.locator(".marks").inner_text() == ""
    assert page.locator('[data-dimension="sex"] svg.chart rect[fill="#c0392b"]').count() == 1
    assert "above the median" in page.locator("#method").inner_text()
    assert page.locator('[data-dimension="ethnicity"] tr.unknown .count').inner_text() == "10"
    page.goto(server_url + "/interviews")
    assert page.locator("#forbidden").is_visible()  # an auditor reads no transcripts


def test_hr_exports_a_candidate_then_erases_them(seeded: HRStore, server_url: str, browser: Any) -> None:
    page = signed_in(browser, server_url, create_token(seeded, "hr"), locale="zh-CN")
    page.goto(server_url + "/candidates/C-s0/export")
    assert "候选人数据" in page.locator("h1").inner_text()
    assert "I wrote the rollback plan myself" in page.locator('.session[data-session="S-s0"]').inner_text()
    with page.expect_download() as download:
        page.click("#export-json")
    assert '"candidate_id": "C-s0"' in Path(download.value.path()).read_text("utf-8").replace('":"', '": "')
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#erase")
    assert "等待面试亭确认" in page.locator("#erasure-state").inner_text()
    assert page.locator('[data-count="sessions"]').inner_text() == "1"
    assert page.locator('[data-count="demographics"]').inner_text() == "1"
    status_page = page.locator("text=刷新").get_attribute("href")
    assert page.goto(server_url + "/interviews/S-s0").status == 404
    page.goto(server_url + "/interviews?role=sales")
    assert page.locator('tr[data-candidate="C-s0"]').count() == 0

    [command] = [r for r in downlinks.pending(seeded, "booth-1") if r["type"] == "erase"]
    downlinks.confirm(seeded, "booth-1", [command["command_seq"]])  # the booth's ack-downlink
    page.goto(server_url + str(status_page))
    assert "所有面试亭已确认" in page.locator("#erasure-state").inner_text()

    auditor = signed_in(browser, server_url, create_token(seeded, "auditor"))
    auditor.goto(server_url + "/bias-audit?role=sales")
    assert auditor.locator("#totals").inner_text().startswith("Candidates in the audit: 9")
    female = auditor.locator('[data-dimension="sex"] tr[data-category="female"]')
    assert female.locator(".count").inner_text() == "4" and female.locator(".selection-ir").inner_text() == "0.000"
