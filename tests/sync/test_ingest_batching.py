"""An ingest worker stores the records messages that arrive together in one transaction and answers them
with one ack; a message that cannot be stored does not take the others down (real mosquitto, real store)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from device.courier.records import punch_record
from drills.chaos_site import Site, server_seqs, wait_for
from fleet.broker import Mosquitto
from sync.backoff import Backoff
from sync.keyfiles import load_peer_keys
from sync.mqtt import Endpoint, MqttLink, Received
from sync.protocol import (
    AckBody,
    DeviceChannel,
    Identity,
    LocalKeys,
    PunchRecord,
    RecordsBody,
    Stamp,
    device_subscription,
    iter_seqs,
)
from sync.server.ingest import IngestWorker
from sync.server.ingest_keys import load_server_identity, server_keys_path
from sync.server.store import HRStore, dead_letters, devices
from tests.factories import punch

DEVICE = "site1-gate-a"


class Rig:
    """The device side (its channel and an MQTT link receiving acks) and a worker driven by the test."""

    def __init__(self, site: Site, hr: HRStore) -> None:
        device = site.devices[DEVICE]
        server_keys = load_peer_keys(server_keys_path(site.server_state))
        self.channel = DeviceChannel(DEVICE, LocalKeys(device.identity), server_keys)
        self.stop = threading.Event()
        endpoint = Endpoint("127.0.0.1", site.broker_port, True, site.ca.cert_path, device.certs.cert, device.certs.key)
        self.device = MqttLink(endpoint, "test-device", stop=self.stop, backoff=Backoff(0.1, 1.0),
                               session_expiry_seconds=0)
        self.device.subscribe(device_subscription(DEVICE))
        config = site.server_config()
        self.worker = IngestWorker(store=hr, keys=load_server_identity(site.server_state),
                                   endpoint=config.broker.endpoint(), worker_id="t",
                                   share_group=config.ingest.share_group, stop=self.stop)
        self.acks: list[AckBody] = []
        self._records: dict[tuple[int, str], PunchRecord] = {}
        wait_for(lambda: (self.pump(), self.device.connected and self.worker.link.connected)[1], "both links")
        deadline = time.monotonic() + 0.5  # the SUBSCRIBEs sent on connect are flushed and in place
        while time.monotonic() < deadline:
            self.pump()

    def pump(self) -> None:
        self.worker.link.poll(0.01)
        for message in self.device.poll(0.01):
            body = self.channel.open(message.topic, message.payload).body
            assert isinstance(body, AckBody)
            self.acks.append(body)

    def message(self, envelope_seq: int, *seqs: int, employee_no: str = "E0001") -> Received:
        # One record per (seq, employee) for the whole test, as an outbox row is: a message naming a seq
        # again is a resend of the same record (a new punch has a new uid, so it would be a sequence reuse).
        for s in seqs:
            self._records.setdefault((s, employee_no), punch_record(s, punch(employee_no, "in", 1_790_000_000_000 + s),
                                                                    DEVICE))
        records = [self._records[(s, employee_no)] for s in seqs]
        sealed = self.channel.seal(RecordsBody(records=records), seq=envelope_seq, stamp=Stamp.now(True))
        return Received(sealed.topic, sealed.payload, mid=0, qos=0, retain=False, dup=False)

    def answered(self) -> list[tuple[list[int], list[int]]]:
        return [(a.messages, list(iter_seqs(a.records))) for a in self.acks]

    def close(self) -> None:
        self.stop.set()
        self.device.close()
        self.worker.link.close()


@pytest.fixture
def rig(site: Site, site_broker: Mosquitto, hr: HRStore) -> Iterator[Rig]:
    r = Rig(site, hr)
    yield r
    r.close()


def rejections(hr: HRStore) -> dict[str, int]:
    with hr.db.read() as tx:
        return {str(r[0]): int(r[1]) for r in tx.execute("SELECT reason, sum(count) FROM rejections GROUP BY reason")
                .all()}


def test_messages_arriving_together_share_a_commit_and_one_ack(site: Site, rig: Rig, hr: HRStore) -> None:
    tampered = rig.message(3, 9)
    tampered = Received(tampered.topic, tampered.payload[:-1] + bytes([tampered.payload[-1] ^ 1]), 0, 0, False, False)
    rig.worker.handle_all([rig.message(1, 1, 2, 3), rig.message(2, 4, 5), tampered, rig.message(4, 1, 2, 3)])
    wait_for(lambda: (rig.pump(), len(rig.acks) == 2)[1], "the acks")
    # Messages 1 and 2 arrived in a row: one ack names both. The refused message ends the run; the resend
    # after it (message 4) is answered on its own, its records acknowledged again.
    assert rig.answered() == [([1, 2], [1, 2, 3, 4, 5]), ([4], [1, 2, 3])]
    assert server_seqs(site, DEVICE) == [1, 2, 3, 4, 5]
    counted = rejections(hr)
    assert counted["bad-signature"] == 1 and counted["duplicate"] == 1
    assert rig.worker.counts["stored"] == 5


def test_a_message_that_cannot_be_stored_does_not_hold_back_the_others_nor_stop_the_worker(
    site: Site, rig: Rig, hr: HRStore
) -> None:
    with hr.db.transaction() as tx:  # a database-side fault for one employee's punches
        tx.execute("CREATE TRIGGER boom BEFORE INSERT ON punches WHEN NEW.employee_no = 'BOOM'"
                   " BEGIN SELECT RAISE(ABORT, 'injected fault'); END")
    first, bad, last = rig.message(1, 1, 2), rig.message(2, 3, employee_no="BOOM"), rig.message(3, 4, 5)
    rig.worker.handle_all([first, bad, last])  # no exception: the bad one becomes a dead letter
    wait_for(lambda: (rig.pump(), len(rig.acks) == 2)[1], "the acks of the first and last messages")
    assert sorted(rig.answered()) == [([1], [1, 2]), ([3], [4, 5])]  # nothing acknowledged for the failed one
    assert server_seqs(site, DEVICE) == [1, 2, 4, 5]
    assert rejections(hr)["bad-payload"] == 1
    assert ["injected fault" in letter["error"] for letter in dead_letters.recent(hr)] == [True]
    with hr.db.transaction() as tx:
        tx.execute("DROP TRIGGER boom")
    rig.worker.handle_all([bad])  # the courier sends it again (not the broker: it was consumed)
    wait_for(lambda: (rig.pump(), len(rig.acks) == 3)[1], "the ack of the one sent again")
    assert rig.answered()[2] == ([2], [3])
    assert server_seqs(site, DEVICE) == [1, 2, 3, 4, 5]


def test_a_key_retired_by_another_worker_is_refused_on_the_next_message(site: Site, rig: Rig, hr: HRStore) -> None:
    """Workers read device keys from the store for every message: once any worker has registered a device's
    new key and retired the old one, this worker refuses the old key at once (it used to cache keys 5 s)."""
    rig.worker.handle_all([rig.message(1, 1)])  # the worker has just used the device's current key
    old, new = site.devices[DEVICE].identity.public, Identity.generate().public
    # What another worker does during a rotation: register the announced keys, then retire the old ones.
    assert devices.register_new_keys(hr, DEVICE, new.sign_raw, new.box_raw, old.sign_id) == "rotated"
    assert devices.retire_previous_keys(hr, DEVICE, new.sign_id.hex())
    rig.worker.handle_all([rig.message(2, 2)])  # still signed with the old key
    wait_for(lambda: (rig.pump(), len(rig.acks) == 1)[1], "the ack of the first message")
    assert server_seqs(site, DEVICE) == [1]
    assert rejections(hr).get("unknown-key") == 1
