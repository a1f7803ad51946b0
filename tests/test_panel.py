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


def test_the_panel_is_served_over_https_with_a_certificate_from_the_site_ca(tmp_path: Path) -> None:
    import ssl

    import httpx
    import pytest

    from core.errors import ConfigError
    from core.serve import BackgroundServer
    from device.config.device import DeviceConfig
    from fleet.pki import create_ca, issue_server_cert
    from tests.server.conftest import free_port

    ca = create_ca(tmp_path / "ca")
    files = issue_server_cert(ca, tmp_path / "panel", name="panel")
    config = DeviceConfig.model_validate({"device": {"id": "gate-1", "state_dir": str(tmp_path)}, "panel": {
        "host": "127.0.0.1", "port": free_port(), "tls_cert_file": str(files.cert), "tls_key_file": str(files.key)}})
    with pytest.raises((ValueError, ConfigError)):  # a certificate without its key (or the reverse) is refused
        DeviceConfig.model_validate({"device": {"id": "gate-1"}, "panel": {"tls_cert_file": str(files.cert)}})
    store = open_store(tmp_path / "d.db", check_same_thread=False)
    app = create_app(health=lambda: collect("gate-1", store, tmp_path, FakeClock(NOW), camera_status=lambda: "ok"))
    server = BackgroundServer(app, config.panel.host, config.panel.port, ssl_certfile=config.panel.tls_cert_file,
                              ssl_keyfile=config.panel.tls_key_file)
    server.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(ca.folder / "ca.crt"))
        reply = httpx.get(server.url + "/api/health", verify=trusted)
        assert reply.json()["device_id"] == "gate-1"
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the site CA is not fooled
            httpx.get(server.url + "/api/health")
        with pytest.raises(httpx.HTTPError):  # and nothing answers in clear
            httpx.get(server.url.replace("https://", "http://") + "/api/health")
    finally:
        server.stop()
        store.close()
