"""Device key rotation (PROTOCOL.md section 12) with real key files, a real mosquitto (TLS + ACL), a real
ingest worker and HR store, and a real courier: HR asks, the device announces new keys in a hello signed
by its current key, the server registers them, the device switches on the ack, and the old key retires."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from device.courier.records import punch_record
from device.store import open_store, outbox
from device.store.punches import record_punch
from drills.chaos_site import Site, running_courier, running_worker, server_seqs, wait_for
from fleet.broker import Mosquitto
from fleet.provision import load_keys, provision
from sync.backoff import Backoff
from sync.keyfiles import begin_rotation, commit_switch, load_device_keys, load_peer_keys, rotation_path
from sync.mqtt import Endpoint, MqttLink
from sync.protocol import (
    AckBody,
    DeviceChannel,
    HelloBody,
    Identity,
    LocalKeys,
    ProtocolError,
    PublicKeys,
    RecordsBody,
    Stamp,
    device_subscription,
)
from sync.server.ingest_keys import server_keys_path
from sync.server.store import HRStore, devices, downlinks
from tests.factories import punch

DEVICE = "site1-gate-a"


def write_punches(site: Site, count: int, start_ms: int) -> None:
    store = open_store(site.devices[DEVICE].database)
    for i in range(count):
        record_punch(store, punch("E0001", "in" if i % 2 == 0 else "out", start_ms + i * 60_000), DEVICE)
    store.close()


def backlog(site: Site) -> int:
    store = open_store(site.devices[DEVICE].database)
    try:
        return outbox.backlog(store)
    finally:
        store.close()


def rejections(hr: HRStore) -> dict[str, int]:
    with hr.db.read() as tx:
        rows = tx.execute("SELECT reason, sum(count) FROM rejections GROUP BY reason").all()
    return {str(r[0]): int(r[1]) for r in rows}


def registered_sign_key(hr: HRStore) -> tuple[str, str | None]:
    row = devices.get(hr, DEVICE)
    return str(row["sign_key_id"]), row["previous_sign_key_id"]


class RawDevice:
    """The test speaking as the device over its own certificate: hand-sealed messages, acks collected."""

    def __init__(self, site: Site, channel: DeviceChannel, client_id: str) -> None:
        device = site.devices[DEVICE]
        endpoint = Endpoint("127.0.0.1", site.broker_port, True, site.ca.cert_path, device.certs.cert, device.certs.key)
        self.stop = threading.Event()
        self.link = MqttLink(endpoint, client_id, stop=self.stop, backoff=Backoff(0.1, 1.0),
                             session_expiry_seconds=0)
        self.link.subscribe(device_subscription(DEVICE))
        self.channel = channel
        self.acks: list[AckBody] = []
        self._seq = 10_000_000

    def pump(self) -> None:
        for message in self.link.poll(0.05):
            try:
                body = self.channel.open(message.topic, message.payload).body
            except ProtocolError:  # both test clients read the device's topic; each opens its own
                continue
            if isinstance(body, AckBody):
                self.acks.append(body)

    def send(self, body: RecordsBody | HelloBody) -> int:
        self._seq += 1
        sealed = self.channel.seal(body, seq=self._seq, stamp=Stamp.now(True))
        assert self.link.publish(sealed.topic, sealed.payload)
        return self._seq

    def acked(self, seq: int) -> bool:
        self.pump()
        return any(seq in a.messages for a in self.acks)

    def close(self) -> None:
        self.stop.set()
        self.link.close()


def hello(new: Identity | None, next_record_seq: int = 1_000_000) -> HelloBody:
    return HelloBody(
        protocol_version=1,
        software_version="test",
        next_record_seq=next_record_seq,
        command_floor=0,
        clock_synced=True,
        new_keys=None if new is None else PublicKeys(sign=new.public.sign_raw, box=new.public.box_raw),
    )


def test_key_files_keep_both_keys_through_a_kill_at_every_step(tmp_path: Path) -> None:
    state = tmp_path / "device"
    provision("gate-9", state)
    old = load_device_keys(state).current
    assert load_device_keys(state).pending is None and not rotation_path(state).exists()

    first = begin_rotation(state)  # killed right after: the pending key is on disk
    assert first.pending is not None
    again = begin_rotation(state)  # a repeated rotate command, or a restart: the same keys
    assert again.pending is not None and again.pending.public.sign_raw == first.pending.public.sign_raw
    loaded = load_device_keys(state)
    assert loaded.current.public.sign_raw == old.public.sign_raw
    assert loaded.pending is not None and loaded.pending.public.box_raw == first.pending.public.box_raw
    # The pending key already opens downlink (the server seals to it once it has registered it).
    assert loaded.local_keys().box_identity(first.pending.public.box_id) is not None
    assert rotation_path(state).stat().st_mode & 0o777 == 0o600

    commit_switch(state, first.pending.public.sign_id)  # killed after the commit point, before the PEM files
    assert load_keys(state).identity.public_key().public_bytes_raw() == old.public.sign_raw  # files not yet
    after = load_device_keys(state)  # the next start rolls forward
    assert after.current.public.sign_raw == first.pending.public.sign_raw and after.pending is None
    assert [p.public.box_raw for p in after.previous] == [old.public.box_raw]  # old X25519 still opens
    assert load_keys(state).identity.public_key().public_bytes_raw() == first.pending.public.sign_raw
    assert commit_switch(state, first.pending.public.sign_id).current.public.sign_raw == first.pending.public.sign_raw
    with pytest.raises(Exception, match="no pending key"):
        commit_switch(state, old.public.sign_id)


def test_hr_rotation_request_switches_the_device_and_retires_its_old_key(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    device = site.devices[DEVICE]
    old = device.identity
    server_keys = load_peer_keys(server_keys_path(site.server_state))
    write_punches(site, 5, 1_790_000_000_000)
    with running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0) as courier:
        wait_for(lambda: len(server_seqs(site, DEVICE)) == 5, "the first punches")
        command_seq = devices.request_key_rotation(hr, DEVICE, "it-admin")
        wait_for(lambda: registered_sign_key(hr)[0] != old.public.sign_id.hex(), "the server registering new keys")
        new_sign_id = registered_sign_key(hr)[0]
        wait_for(
            lambda: courier.channel.keys.current.public.sign_id.hex() == new_sign_id, "the device switching keys"
        )
        wait_for(lambda: downlinks.pending(hr, DEVICE) == [], "the rotate-key command confirmed")
        write_punches(site, 5, 1_790_100_000_000)  # signed with the new key
        wait_for(lambda: len(server_seqs(site, DEVICE)) == 10 and backlog(site) == 0, "punches after the switch")
        wait_for(lambda: registered_sign_key(hr)[1] is None, "the old key retired once the new one is in use")
        assert courier.stats.downlinks["rotate-key:applied"] == 1

    assert server_seqs(site, DEVICE) == list(range(1, 11))
    keys = load_device_keys(device.state_dir)
    assert keys.current.public.sign_id.hex() == new_sign_id and keys.pending is None
    assert [p.public.box_raw for p in keys.previous] == [old.public.box_raw]
    assert load_keys(device.state_dir).identity.public_key().public_bytes_raw() == keys.current.public.sign_raw
    row = devices.get(hr, DEVICE)
    assert row["box_key_id"] == keys.current.public.box_id.hex() and row["keys_rotated_at"] is not None
    with hr.db.read() as tx:
        kind, confirmed = tx.execute(
            "SELECT type, confirmed_at FROM downlinks WHERE device_id = ? AND command_seq = ?", (DEVICE, command_seq)
        ).one()
    assert kind == "rotate-key" and confirmed is not None

    # A record signed with the retired key is refused as unknown-key and never stored or acknowledged;
    # a repeated hello (announcing the keys already registered) is harmless and acknowledged.
    with running_worker(site):
        retired = RawDevice(site, DeviceChannel(DEVICE, LocalKeys(old), server_keys), "test-retired")
        current = RawDevice(site, DeviceChannel(DEVICE, LocalKeys(keys.current), server_keys), "test-current")
        try:
            wait_for(lambda: (retired.pump(), current.pump(), retired.link.connected and current.link.connected)[2],
                     "test clients")
            time.sleep(0.5)
            forged = retired.send(RecordsBody(records=[punch_record(11, punch("E0002", "in", 1_790_200_000_000),
                                                                    DEVICE)]))
            wait_for(lambda: rejections(hr).get("unknown-key", 0) >= 1, "the retired key counted as unknown-key")
            repeat = current.send(hello(keys.current, next_record_seq=11))
            wait_for(lambda: current.acked(repeat), "the ack of a repeated hello")
            assert not retired.acked(forged)
        finally:
            retired.close()
            current.close()
    assert server_seqs(site, DEVICE) == list(range(1, 11))
    assert registered_sign_key(hr) == (new_sign_id, None)


def test_a_device_killed_between_rotation_steps_loses_nothing(site: Site, site_broker: Mosquitto, hr: HRStore) -> None:
    device = site.devices[DEVICE]
    old = device.identity
    server_keys = load_peer_keys(server_keys_path(site.server_state))
    write_punches(site, 3, 1_790_000_000_000)

    # Killed after persisting the pending key, before its hello went out: the next start announces it.
    first = begin_rotation(device.state_dir).pending
    assert first is not None
    write_punches(site, 3, 1_790_010_000_000)
    with running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0) as courier:
        wait_for(lambda: registered_sign_key(hr)[0] == first.public.sign_id.hex(), "the pending key registered")
        wait_for(lambda: courier.channel.keys.current.public.sign_raw == first.public.sign_raw, "the switch")
        wait_for(lambda: len(server_seqs(site, DEVICE)) == 6 and backlog(site) == 0, "every punch stored")

    # Killed after the server registered the next key, before the ack reached the device: the hello is
    # repeated on the next start (the same keys), the server answers again and the device switches.
    second = begin_rotation(device.state_dir).pending
    assert second is not None
    with running_worker(site):
        keyring = load_device_keys(device.state_dir).local_keys()
        raw = RawDevice(site, DeviceChannel(DEVICE, keyring, server_keys), "test-raw")
        try:
            wait_for(lambda: (raw.pump(), raw.link.connected)[1], "test client")
            time.sleep(0.5)
            seq = raw.send(hello(second, next_record_seq=7))
            wait_for(lambda: registered_sign_key(hr)[0] == second.public.sign_id.hex(), "second key registered")
            wait_for(lambda: raw.acked(seq), "the ack the killed device never applied")
        finally:
            raw.close()
    assert load_device_keys(device.state_dir).pending is not None  # the device did not switch yet
    write_punches(site, 3, 1_790_020_000_000)
    with running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0) as courier:
        wait_for(lambda: courier.channel.keys.current.public.sign_raw == second.public.sign_raw, "the late switch")
        wait_for(lambda: len(server_seqs(site, DEVICE)) == 9 and backlog(site) == 0, "every punch stored")
        wait_for(lambda: registered_sign_key(hr)[1] is None, "the superseded key retired")
    assert server_seqs(site, DEVICE) == list(range(1, 10))
    keys = load_device_keys(device.state_dir)
    assert keys.current.public.sign_raw == second.public.sign_raw
    assert [p.public.box_raw for p in keys.previous] == [first.public.box_raw]
    assert old.public.sign_id.hex() not in registered_sign_key(hr)


def test_the_old_key_retires_right_after_the_switch_even_with_nothing_to_send(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    """With no punch waiting, the device's first message under its new key is the hello it sends on switching:
    the server retires the old key then, not whenever the next punch happens to come."""
    first = begin_rotation(site.devices[DEVICE].state_dir).pending
    assert first is not None
    with running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0) as courier:
        wait_for(lambda: courier.channel.keys.current.public.sign_raw == first.public.sign_raw, "the switch")
        wait_for(lambda: registered_sign_key(hr) == (first.public.sign_id.hex(), None), "the old key retired")
    assert server_seqs(site, DEVICE) == []
