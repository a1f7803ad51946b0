"""The booth sessions page of the admin panel, over a real device store: sessions written by the booth's own
store code show their status (in progress, completed, abandoned) and upload state (queued in the outbox,
delivered once acknowledged), paged; viewers and admins read it; no candidate audio or transcript is shown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from device.store import booth_session_list, outbox
from device.store import booth_sessions as sessions
from sync.protocol import InterviewResultBody
from tests.panel.terminal_site import VIEWER_PASSWORD, TerminalSite, build_terminal_site
from tests.panel.test_terminal_pages import signed_in

NOW_MS = int(time.time() * 1000)
SECRET = "my previous manager said I was the best"  # an answer's words: never on this page


@pytest.fixture
def site(tmp_path: Path) -> Iterator[TerminalSite]:
    built = build_terminal_site(tmp_path)
    yield built
    built.close()


def start(site: TerminalSite, n: int, name: str, minutes_ago: float) -> str:
    session_id = f"S{n:03d}"
    at_ms = NOW_MS - int(minutes_ago * 60_000)
    sessions.open_session(site.store, sessions.NewSession(
        session_id, f"C{n:03d}", name, "analyst", "bank-1", "en", False, f"K{n:03d}", "notice-1", "en", at_ms,
    ), at=datetime.now(UTC))
    return session_id


def finish(site: TerminalSite, session_id: str, reason: str) -> int:
    row = sessions.get(site.store, session_id)
    assert row is not None
    body = InterviewResultBody(session_id=session_id, candidate_id=row.candidate_id, role_id=row.role_id,
                               consent_id=row.consent_id, completed_ms=row.at_ms + 600_000, clock_synced=True,
                               answers=[], scores=[])
    return sessions.complete(site.store, session_id, body, reason=reason, at=datetime.now(UTC))


def test_sessions_show_status_and_upload_state_and_no_answer(site: TerminalSite) -> None:
    live = start(site, 1, "Li Hua", minutes_ago=2)
    answer_id, _, _ = sessions.begin_answer(site.store, live, "q1", typed=True, audio_folder=None, at_ms=NOW_MS)
    sessions.finish_answer(site.store, answer_id, status="done", transcript=SECRET, duration_ms=9000, at_ms=NOW_MS)
    start(site, 2, "Zhang Wei", minutes_ago=600)  # open, far past the resume window: abandoned
    queued = start(site, 3, "Chen Jing", minutes_ago=90)
    finish(site, queued, "completed")
    delivered = start(site, 4, "Wang Lei", minutes_ago=120)
    outbox.mark_delivered(site.store, [finish(site, delivered, "completed")], NOW_MS)
    cut = start(site, 5, "Zhao Min", minutes_ago=200)
    finish(site, cut, "interrupted")

    client, _ = signed_in(site, "audrey", VIEWER_PASSWORD)  # a viewer reads it
    page = client.get("/admin/booth-sessions?lang=en")
    assert page.status_code == 200
    text = page.text
    expected = {"S001": ("in-progress", "none"), "S002": ("abandoned", "none"), "S003": ("completed", "queued"),
                "S004": ("completed", "delivered"), "S005": ("abandoned", "queued")}
    for session_id, (status, upload) in expected.items():
        assert f'data-session="{session_id}" data-status="{status}" data-upload="{upload}"' in text, session_id
    assert "Li Hua" in text and "C001" in text and "delivered (acknowledged by the server)" in text
    assert SECRET not in text and "q1" not in text and ".pcm" not in text
    zh = client.get("/admin/booth-sessions?lang=zh-CN").text
    assert "进行中" in zh and "已中断" in zh and "在待发队列中" in zh
    admin, _ = signed_in(site)
    assert admin.get("/admin/booth-sessions?lang=en").status_code == 200
    anonymous = TestClient(site.app, follow_redirects=False).get("/admin/booth-sessions")
    assert anonymous.status_code == 303 and "/admin/login" in anonymous.headers["location"]


def test_sessions_are_paged_newest_first(site: TerminalSite) -> None:
    for n in range(booth_session_list.PAGE_SIZE + 5):
        start(site, n, f"Candidate {n}", minutes_ago=1000 - n)
    client, _ = signed_in(site)
    first = client.get("/admin/booth-sessions?lang=en").text
    second = client.get("/admin/booth-sessions?lang=en&page=1").text
    assert first.count("data-session=") == booth_session_list.PAGE_SIZE and second.count("data-session=") == 5
    assert first.index("S029") < first.index("S028") and 'id="next"' in first and 'id="prev"' in second
    assert "S000" in second and "S000" not in first
