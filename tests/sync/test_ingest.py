"""The ingest worker against a real mosquitto (TLS + ACL), a real HR store and real device keys."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import numpy as np

from core.datakey import load_or_create
from device.courier.courier import data_key_path
from device.courier.records import punch_record
from device.store import employees as device_employees
from device.store import open_store
from drills.chaos_site import Site, running_courier, running_worker, server_seqs, wait_for
from fleet.broker import Mosquitto
from fleet.pki import CertFiles
from sync.backoff import Backoff
from sync.keyfiles import load_peer_keys
from sync.mqtt import Endpoint, MqttLink
from sync.protocol import (
    AckBody,
    DeviceChannel,
    Identity,
    LocalKeys,
    MessageType,
    RecordsBody,
    Stamp,
    device_subscription,
    header_length,
    iter_seqs,
    message_topic,
)
from sync.server.ingest_keys import server_keys_path
from sync.server.store import HRStore
from sync.server.store import employees as hr_employees
from tests.factories import punch

DEVICE = "site1-gate-a"


def link(site: Site, certs: CertFiles, client_id: str, stop: threading.Event) -> MqttLink:
    endpoint = Endpoint("127.0.0.1", site.broker_port, True, site.ca.cert_path, certs.cert, certs.key)
    return MqttLink(endpoint, client_id, stop=stop, backoff=Backoff(0.1, 1.0), session_expiry_seconds=0)


def records(*seqs: int, device_id: str = DEVICE) -> RecordsBody:
    return RecordsBody(records=[punch_record(s, punch("E0001", "in", 1_790_000_000_000 + s), device_id) for s in seqs])


def rejections(hr: HRStore) -> dict[str, int]:
    with hr.db.read() as tx:
        rows = tx.execute("SELECT reason, sum(count) FROM rejections GROUP BY reason").all()
    return {str(r[0]): int(r[1]) for r in rows}


def test_tampered_unknown_and_replayed_messages_are_refused_counted_and_duplicates_reacked(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    device = site.devices[DEVICE]
    server_keys = load_peer_keys(server_keys_path(site.server_state))
    channel = DeviceChannel(DEVICE, LocalKeys(device.identity), server_keys)
    stop = threading.Event()
    as_device = link(site, device.certs, "test-device", stop)
    as_device.subscribe(device_subscription(DEVICE))
    rogue_id = "rogue-device"
    site_broker.add_devices([rogue_id])  # a certificate the broker lets in but the server does not know
    rogue = link(site, site.client_certs(rogue_id), "test-rogue", stop)
    rogue_channel = DeviceChannel(rogue_id, LocalKeys(Identity.generate()), server_keys)
    acks: list[AckBody] = []

    def pump(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in as_device.poll(0.02):
                body = channel.open(message.topic, message.payload).body
                assert isinstance(body, AckBody)
                acks.append(body)
            rogue.poll(0.0)

    try:
        with running_worker(site):
            wait_for(lambda: (pump(0.05), as_device.connected and rogue.connected)[1], "test clients")
            time.sleep(0.5)  # the worker's shared subscription is in place
            valid = channel.seal(records(1, 2, 3), seq=1, stamp=Stamp.now(True))
            as_device.publish(valid.topic, valid.payload)
            wait_for(lambda: (pump(0.05), len(acks) == 1)[1], "ack of the first message")
            assert list(iter_seqs(acks[0].records)) == [1, 2, 3] and acks[0].messages == [1]

            as_device.publish(valid.topic, valid.payload)  # the same envelope again: a replay
            wait_for(lambda: (pump(0.05), len(acks) == 2)[1], "re-ack of the replayed message")
            assert list(iter_seqs(acks[1].records)) == [1, 2, 3]  # duplicates are acknowledged again

            tampered = bytearray(valid.payload)
            tampered[header_length(DEVICE) + 2] ^= 0x40
            as_device.publish(valid.topic, bytes(tampered))
            forged = rogue_channel.seal(records(1, device_id=rogue_id), seq=1, stamp=Stamp.now(True))
            rogue.publish(forged.topic, forged.payload)
            wait_for(lambda: (pump(0.05), rejections(hr).get("unknown-device") == 1)[1], "unknown device counted")
            wait_for(lambda: rejections(hr).get("bad-signature") == 1, "tampered message counted")
            pump(0.5)
    finally:
        stop.set()
        as_device.close()
        rogue.close()
    assert server_seqs(site, DEVICE) == [1, 2, 3]  # stored once
    assert server_seqs(site, rogue_id) == []
    assert rejections(hr)["duplicate"] == 1
    assert len(acks) == 2  # nothing acknowledged for the tampered or forged messages
    assert message_topic(DEVICE, MessageType.RECORDS) == valid.topic


def test_erase_removes_templates_on_the_device_and_the_confirmation_reaches_the_server(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    device = site.devices[DEVICE]
    store = open_store(device.database)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    device_employees.upsert_employee(store, "E0042", "Li Lei", now, "admin")
    device_employees.record_consent(
        store, "E0042", purpose="face-attendance", text_version="v1", recorded_by="admin", at=now
    )
    key = load_or_create(data_key_path(device.state_dir))
    vectors = [np.random.default_rng(1).standard_normal(128).astype("<f4") for _ in range(2)]
    device_employees.replace_templates(store, key, "E0042", vectors, model="m1", source="panel", at=now, actor="admin")
    assert len(device_employees.load_templates(store, key, "m1")) == 2
    hr_employees.create(hr, "E0042", "Li Lei", "hr")
    assert hr_employees.erase(hr, "E0042", "hr") == [DEVICE]

    def confirmed() -> bool:
        with hr.db.read() as tx:
            row = tx.execute(
                "SELECT sent_at, confirmed_at FROM downlinks WHERE device_id = ? AND type = 'erase'", (DEVICE,)
            ).one()
        return row is not None and row[1] is not None

    with running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0):
        wait_for(confirmed, "the erase confirmation on the server")
    assert device_employees.load_templates(store, key, "m1") == []
    row = store.conn.execute("SELECT type, outcome, confirmed_at_ms FROM downlink_commands").fetchone()
    assert row[0] == "erase" and row[1] == "applied" and row[2] is not None
    store.close()
