"""End to end: HR enrols an employee from real LFW photos on the server; a real ingest worker sends the
gallery command with the templates over a real mosquitto (TLS + ACL) and a real device courier stores
them (encrypted with the device's own data key), so the terminal's gallery can match the person."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from fastapi.testclient import TestClient

from core.datakey import load_or_create
from device.courier.courier import data_key_path
from device.store import employees as device_employees
from device.store import open_store
from drills.chaos_site import Site, running_courier, wait_for
from fleet.broker import Mosquitto
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.enrolment import real_embedder_parts
from sync.server.ingest import IngestWorker
from sync.server.ingest_keys import load_server_identity
from sync.server.store import HRStore, devices, open_hr_store, templates
from tests.attendance.real_vision import lfw_people, requires_vision

pytestmark = requires_vision

DEVICE = "site1-gate-a"


@contextmanager
def worker_with_data_key(site: Site) -> Iterator[IngestWorker]:
    """An ingest worker thread as ``python -m sync.server.ingest`` builds it: with the server's data key."""
    config = site.server_config()
    store = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    stop = threading.Event()
    worker = IngestWorker(
        store=store,
        keys=load_server_identity(config.server.state_dir),
        endpoint=config.broker.endpoint(),
        worker_id="g1",
        share_group=config.ingest.share_group,
        stop=stop,
        data_key=templates.load_data_key(config.server.state_dir),
    )
    thread = threading.Thread(target=worker.run, name="ingest-g1")
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(15)
        store.close()


def test_an_employee_enrolled_on_the_server_gets_templates_on_the_device(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    [(person, images)] = lfw_people(min_images=4, max_images=30, count=1)
    parts = real_embedder_parts()
    app = create_app(site.server_config(), hr, embedder_parts=lambda: parts)
    headers = {"Authorization": f"Bearer {create_token(hr, 'hr')}"}
    with TestClient(app) as client:
        assert client.post("/api/employees", json={"employee_no": "E0007", "name": person},
                           headers=headers).status_code == 201
        devices.assign(hr, DEVICE, ["E0007"], "it")  # assigned before enrolment: nothing to send yet
        files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in images[:4]]
        reply = client.post("/api/employees/E0007/photos", files=files, data={"consent_text_version": "v2"},
                            headers=headers)
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["enrolled"] and report["gallery_sent_to"] == [DEVICE]
    server_side = templates.load(hr, templates.load_data_key(site.server_state), ["E0007"])["E0007"][1]

    def all_confirmed() -> bool:
        with hr.db.read() as tx:
            rows = tx.execute("SELECT confirmed_at FROM downlinks WHERE device_id = ? AND type = 'gallery'",
                              (DEVICE,)).all()
        return len(rows) == 2 and all(r[0] is not None for r in rows)

    with worker_with_data_key(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0):
        wait_for(all_confirmed, "both gallery commands confirmed by the device")

    device = site.devices[DEVICE]
    store = open_store(device.database)
    try:
        key = load_or_create(data_key_path(device.state_dir))
        on_device = device_employees.load_templates(store, key, parts.model)
        assert [t.employee_no for t in on_device] == ["E0007"] * report["templates"]
        vectors = sorted(np.asarray(t.vector, dtype="<f4").tobytes() for t in on_device)
        assert vectors == sorted(server_side)  # the very templates the server computed
        outcomes = store.conn.execute("SELECT type, outcome FROM downlink_commands ORDER BY command_seq").fetchall()
        assert outcomes == [("gallery", "applied"), ("gallery", "applied")]
        assert device_employees.has_consent(store, "E0007", "face-attendance")
    finally:
        store.close()
