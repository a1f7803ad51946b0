from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from core.clock import FakeClock
from device.health import collect
from device.panel.app import create_app
from device.store import open_store, punches
from tests.factories import punch
from tests.test_store import NOW


def test_health_page_in_both_languages_and_json(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db", check_same_thread=False)
    punches.record_punch(store, punch(), "gate-1")
    clock = FakeClock(NOW, is_synced=False)
    app = create_app(health=lambda: collect("gate-1", store, tmp_path, clock, camera_status=lambda: "ok"))
    with TestClient(app) as client:
        data = client.get("/api/health").json()
        assert data["backlog"] == 1 and data["clock_synced"] is False and data["database_ok"] is True
        assert "clock: not synchronised" in data["problems"]
        zh = client.get("/health").text
        assert "设备状态" in zh and "待同步记录" in zh
        en = client.get("/health?lang=en").text
        assert "Device health" in en and 'id="backlog">1<' in en
    store.close()
