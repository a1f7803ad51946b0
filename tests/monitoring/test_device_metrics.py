"""The terminal's Prometheus /metrics: what it exports, who may read it, and a real terminal feeding it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from core.clock import FakeClock
from core.datakey import load_or_create
from device.attendance.kiosk import KioskCounters
from device.attendance.vision_parts import VisionParts
from device.config.device import DeviceConfig
from device.hardware.camera_fake import FakeCamera
from device.hardware.gpio import open_gpio
from device.health import Health
from device.panel.metrics import DeviceMetrics, DeviceSources, metrics_router
from device.runner import Terminal, state_paths
from device.store import employees as repo
from device.store import open_store
from tests.attendance.scripted import NOBODY, CountingGallery, ScriptedPipeline, person
from tests.attendance.test_runner import free_port, wait_for

TOKEN = "scrape-token-0123456789abcdef"
TERMINAL = ("127.0.0.1", 50000)
LAN = ("192.168.1.60", 50000)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page by (name, sorted labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def health(temp: float | None = None, *, backlog: int = 7, free: float = 0.15, synced: bool = False) -> Health:
    return Health(device_id="gate-1", ok=True, disk_free_bytes=1_000, disk_free_fraction=free, cpu_temp_c=temp,
                  clock_synced=synced, backlog=backlog, database_ok=True, camera="ok")


def app(sources: DeviceSources, token: str | None = TOKEN) -> tuple[FastAPI, DeviceMetrics]:
    metrics = DeviceMetrics(sources)
    application = FastAPI()
    application.include_router(metrics_router(metrics, token=token))
    return application, metrics


def test_exports_counters_backlog_ack_age_clock_disk_and_latency() -> None:
    counters = KioskCounters(frames=40, punches=3, unknown=2, spoof=5, poor_image=Counter({"blurry": 4}),
                             claims_refused=Counter({"wrong-pin": 1}))
    sources = DeviceSources("gate-1", health=lambda: health(), counters=lambda: counters,
                            last_ack=lambda: 1000.0, now=lambda: 1090.0,
                            courier=lambda: ({"records_sent": 9, "resends": 1, "delivered": 8}, {"replay": 2}))
    application, metrics = app(sources)
    metrics.observe_decision("punched", 0.12)
    metrics.observe_decision("spoof", 3.0)
    with TestClient(application, client=TERMINAL) as c:
        page = c.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    got = samples(page.text)
    dev = (("device", "gate-1"),)
    assert got[("edgehr_device_punches_total", dev)] == 3
    assert got[("edgehr_device_rejections_total", (("device", "gate-1"), ("reason", "spoof")))] == 5
    assert got[("edgehr_device_rejections_total", (("device", "gate-1"), ("reason", "poor-image:blurry")))] == 4
    assert got[("edgehr_device_rejections_total", (("device", "gate-1"), ("reason", "claim:wrong-pin")))] == 1
    assert got[("edgehr_device_outbox_backlog", dev)] == 7
    assert got[("edgehr_device_last_ack_age_seconds", dev)] == 90
    assert got[("edgehr_device_clock_synced", dev)] == 0
    assert got[("edgehr_device_disk_used_ratio", dev)] == 0.85
    assert got[("edgehr_device_courier_resends_total", dev)] == 1
    assert got[("edgehr_device_downlink_rejections_total", (("device", "gate-1"), ("reason", "replay")))] == 2
    assert got[("edgehr_device_decision_seconds_count", (("outcome", "punched"),))] == 1
    assert got[("edgehr_device_decision_seconds_bucket", (("le", "0.2"), ("outcome", "punched")))] == 1
    assert got[("edgehr_device_decision_seconds_bucket", (("le", "2.0"), ("outcome", "spoof")))] == 0
    # No thermal zone (not a Pi): no temperature sample at all, rather than a misleading 0.
    assert not any(name == "edgehr_device_cpu_temperature_celsius" for name, _ in got)
    assert "edgehr_device_last_ack" in page.text


def test_temperature_when_exposed_and_no_ack_age_before_the_first_ack() -> None:
    application, _ = app(DeviceSources("gate-1", health=lambda: health(61.5), last_ack=lambda: None))
    with TestClient(application, client=TERMINAL) as c:
        got = samples(c.get("/metrics").text)
    assert got[("edgehr_device_cpu_temperature_celsius", (("device", "gate-1"),))] == 61.5
    assert not any(name.startswith("edgehr_device_last_ack") for name, _ in got)


def test_served_to_loopback_or_the_bearer_of_the_metrics_token_only() -> None:
    application, _ = app(DeviceSources("gate-1", health=lambda: health()))
    with TestClient(application, client=LAN) as c:
        refused = c.get("/metrics")
        assert refused.status_code == 403 and "panel.metrics_token" in refused.text
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789abcdef"}).status_code == 403
        assert c.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403
        assert c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    no_token, _ = app(DeviceSources("gate-1", health=lambda: health()), token=None)
    with TestClient(no_token, client=LAN) as c:
        assert c.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_two_terminals_in_one_process_keep_their_own_registries() -> None:
    one, m1 = app(DeviceSources("gate-1", health=lambda: health()))
    two, m2 = app(DeviceSources("gate-2", health=lambda: health()))
    m1.observe_decision("unknown", 0.1)
    with TestClient(two, client=TERMINAL) as c:
        assert "edgehr_device_decision_seconds_count" not in c.get("/metrics").text
    with TestClient(one, client=TERMINAL) as c:
        assert 'edgehr_device_decision_seconds_count{outcome="unknown"} 1.0' in c.get("/metrics").text


def test_a_running_terminal_feeds_its_metrics(tmp_path: Path) -> None:
    config = DeviceConfig.model_validate({
        "device": {"id": "gate-1", "name": "Gate 1", "state_dir": str(tmp_path / "state"), "language": "en"},
        "camera": {"source": "fake"},
        "panel": {"port": free_port(), "metrics_token": TOKEN},
    })
    db_path, key_path = state_paths(config)
    store = open_store(db_path, check_same_thread=False)
    key = load_or_create(key_path)
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    repo.upsert_employee(store, "E1", "Person E1", clock.now(), "admin")
    repo.record_consent(store, "E1", purpose="face-attendance", text_version="v1", recorded_by="admin", at=clock.now())
    vec = np.zeros(128, np.float32)
    vec[0] = 1
    repo.replace_templates(store, key, "E1", [vec], model="m1", source="photos", at=clock.now(), actor="admin")
    vision = VisionParts(pipeline=ScriptedPipeline([NOBODY] + [person("E1")] * 3 + [NOBODY]),  # type: ignore[arg-type]
                         gallery=CountingGallery([]), models={"embedder": "m1"}, template_model="m1",
                         same_person_threshold=0.5)
    terminal = Terminal(config, store=store, key=key, camera=FakeCamera(paced=False, frames=5),
                        gpio=open_gpio(config.gpio), vision=vision, clock=clock)
    try:
        terminal.start()
        wait_for(lambda: terminal.kiosk.counters().frames == 5, "the five frames")
        got = samples(httpx.get(f"http://127.0.0.1:{config.panel.port}/metrics").text)
    finally:
        terminal.stop()
    dev = (("device", "gate-1"),)
    assert got[("edgehr_device_punches_total", dev)] == 1
    assert got[("edgehr_device_outbox_backlog", dev)] == 1  # the punch waits for a server (no courier here)
    assert sum(v for (name, _), v in got.items() if name == "edgehr_device_decision_seconds_count") == 5
    assert got[("edgehr_device_decision_seconds_count", (("outcome", "punched"),))] == 1
