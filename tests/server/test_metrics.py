"""The HR server's /metrics (SQLite and PostgreSQL): stored records and punches, rejections by reason, dead
letters, webhook dead letters, devices' last records; readable with a scrape token or an admin/it token."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sync.server.api import create_app
from sync.server.config import BrokerSection, MetricsSection, ServerConfig
from sync.server.store import HRStore, records, webhook_rows
from sync.server.store.dead_letters import DeadLetter
from tests.server.builders import bearer, punch_record, register
from tests.server.conftest import NOW

SCRAPE = "scrape-0123456789abcdef0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_counts_come_from_the_shared_store(client: TestClient, store: HRStore) -> None:
    register(store, "gate-1", "gate-2")
    records.ingest(store, "gate-1", [punch_record(1), punch_record(2, synced=False)])
    records.ingest(store, "gate-2", [punch_record(1, device_id="gate-2")])
    records.ingest(store, "gate-1", [punch_record(1)])  # a resend: stored once
    records.count_rejection(store, "bad-signature", "gate-1")
    records.dead_letter(store, DeadLetter("gate-1", "edgehr/v1/gate-1/up/records", "bad-payload", "boom", "ab" * 8, 8))
    webhook_rows.create(store, url="https://hooks.example/x", secret="s" * 32, events=["punch"], actor="t")
    records.ingest(store, "gate-2", [punch_record(2, device_id="gate-2")])  # queues one delivery
    (delivery,) = webhook_rows.deliveries(store)
    webhook_rows.mark_failed_attempt(store, delivery["id"], "HTTP 500", None, store.now())
    page = client.get("/api/metrics", headers=bearer(store, "it"))
    assert page.status_code == 200, page.text
    got = samples(page.text)
    assert got[("edgehr_server_records_stored_total", (("type", "punch"),))] == 4
    assert got[("edgehr_server_punches_stored_total", (("clock_synced", "true"),))] == 3
    assert got[("edgehr_server_punches_stored_total", (("clock_synced", "false"),))] == 1
    assert got[("edgehr_server_rejections_total", (("reason", "bad-signature"),))] == 1
    assert got[("edgehr_server_rejections_total", (("reason", "bad-payload"),))] == 1
    assert got[("edgehr_server_rejections_total", (("reason", "unknown-device"),))] == 0  # every reason, always
    assert got[("edgehr_server_dead_letters", ())] == 1
    assert got[("edgehr_server_webhook_dead_letters", ())] == 1
    assert got[("edgehr_server_devices", (("status", "active"),))] == 2
    assert got[("edgehr_server_device_last_record_timestamp_seconds", (("device", "gate-2"),))] == NOW.timestamp()


def test_who_may_read_them(client: TestClient, store: HRStore) -> None:
    assert client.get("/api/metrics").status_code == 401
    assert client.get("/api/metrics", headers=bearer(store, "hr")).status_code == 403
    assert client.get("/api/metrics", headers=bearer(store, "readonly")).status_code == 403
    assert client.get("/api/metrics", headers=bearer(store, "admin")).status_code == 200
    assert client.get("/api/metrics", headers={"Authorization": f"Bearer {SCRAPE}"}).status_code == 401


def test_a_scrape_token_file_opens_metrics_and_nothing_else(store: HRStore, tmp_path: Path) -> None:
    token_file = tmp_path / "scrape.token"
    token_file.write_text(SCRAPE + "\n")
    config = ServerConfig(broker=BrokerSection(tls=False), metrics=MetricsSection(token_file=token_file))
    with TestClient(create_app(config, store)) as c:
        scrape = {"Authorization": f"Bearer {SCRAPE}"}
        assert c.get("/api/metrics", headers=scrape).status_code == 200
        assert c.get("/api/devices", headers=scrape).status_code == 401
        assert c.get("/api/metrics", headers={"Authorization": f"Bearer {SCRAPE[:-1]}x"}).status_code == 401
    off = ServerConfig(broker=BrokerSection(tls=False), metrics=MetricsSection(enabled=False))
    with TestClient(create_app(off, store)) as c:
        assert c.get("/api/metrics", headers=bearer(store, "admin")).status_code == 404
