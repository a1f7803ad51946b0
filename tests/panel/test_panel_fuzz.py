"""Property-based requests over the terminal panel's OpenAPI schema (schemathesis): kiosk routes from the
terminal itself, admin routes with a logged-in session, a real store and the real face pipeline; no 5xx."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from core.clock import FakeClock
from device.attendance.outcomes import Punched
from device.attendance.screen import KioskScreen
from device.panel.kiosk import kiosk_router
from tests.attendance.real_vision import requires_vision
from tests.fuzzing import never_5xx
from tests.panel.site import PASSWORD, build_site

pytestmark = requires_vision


def logged_in(url: str) -> dict[str, str]:
    reply = httpx.post(url + "/admin/login", data={"password": PASSWORD}, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    return {"Cookie": f"edgehr_admin={reply.cookies['edgehr_admin']}"}


@pytest.mark.slow
def test_the_terminal_panel_never_answers_5xx(tmp_path: Path, vision: Any) -> None:
    site = build_site(tmp_path, vision, with_snapshots=True)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    screen = KioskScreen(device_name="Gate", default_language="zh-CN", monotonic_ns=clock.monotonic_ns, preview=True)
    screen.show(Punched("Li Lei", "E1", "in", clock.now(), 0.9, 0.99))
    site.app.include_router(kiosk_router(screen, default_language="zh-CN", metrics=lambda: {"punches": 1}))
    site.store.conn.execute(
        "INSERT INTO employees (employee_no, name, created_at, updated_at) VALUES ('E1', 'Li Lei', 'x', 'x')")
    try:
        failures = never_5xx(site.app, logged_in)
    finally:
        site.store.close()
    assert not failures, "\n\n".join(failures)
