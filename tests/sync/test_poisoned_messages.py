"""The poisoned-message drill (issue 15): one validly signed message from a registered terminal must never
stop the HR server. Each poisoned message is refused and counted (and kept as a dead letter), or processed
within bounds; either way the ingest worker stays up and stores the next good punches.

Real mosquitto (TLS + ACL), real HR store, the device's real keys: the attacker here is a registered
terminal that signs whatever it likes.
"""

from __future__ import annotations

import threading
import time

from device.courier.records import punch_record
from drills.chaos_site import Site, running_worker, server_seqs, wait_for
from fleet.broker import Mosquitto
from sync.keyfiles import load_peer_keys
from sync.mqtt import MqttLink
from sync.protocol import (
    AckBody,
    AckDownlinkBody,
    Body,
    DeviceChannel,
    HelloBody,
    LocalKeys,
    RecordsBody,
    Stamp,
    device_subscription,
    iter_seqs,
)
from sync.server.ingest_keys import server_keys_path
from sync.server.store import HRStore, dead_letters
from tests.factories import punch
from tests.sync.test_ingest import DEVICE, link, records, rejections

POISON_EMPLOYEE = "E-POISON"


def _poisons() -> list[tuple[str, Body]]:
    """Each poisoned body, built without validation (the protocol's own types would refuse some of them).
    The last one is valid but makes the store fail (the trigger of ``_store_fails_on``)."""
    store_fails = RecordsBody(records=[punch_record(10**6, punch(POISON_EMPLOYEE, "in", 1_790_000_000_000), DEVICE)])
    too_big_seq = records(1).records[0].model_copy(update={"seq": 2**63})
    hello = HelloBody(
        protocol_version=1, software_version="0.1.0", next_record_seq=1, command_floor=0, clock_synced=True
    )
    return [
        ("record seq 2^63", RecordsBody.model_construct(records=[too_big_seq])),
        ("hello command_floor 2^70", hello.model_copy(update={"command_floor": 2**70})),
        ("ack-downlink of 2^62 commands", AckDownlinkBody.model_construct(commands=[(1, 2**62)])),
        ("ack-downlink beyond 2^63", AckDownlinkBody.model_construct(commands=[(2**63, 2**64 - 1)])),
        ("a punch the store fails on", store_fails),
    ]


def _store_fails_on(hr: HRStore, employee_no: str) -> None:
    """A real failure inside the ingest transaction (no patching): SQLite aborts any punch of this employee."""
    with hr.db.transaction() as tx:
        tx.execute(
            f"CREATE TRIGGER poison BEFORE INSERT ON punches WHEN NEW.employee_no = '{employee_no}'"
            " BEGIN SELECT RAISE(ABORT, 'poisoned punch'); END"
        )


def test_poisoned_messages_are_refused_or_bounded_and_the_server_keeps_storing_punches(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    device = site.devices[DEVICE]
    channel = DeviceChannel(DEVICE, LocalKeys(device.identity), load_peer_keys(server_keys_path(site.server_state)))
    stop = threading.Event()
    as_device: MqttLink = link(site, device.certs, "test-poisoner", stop)
    as_device.subscribe(device_subscription(DEVICE))
    _store_fails_on(hr, POISON_EMPLOYEE)
    acked: set[int] = set()
    envelope = iter(range(1, 1000))

    def pump() -> None:
        for message in as_device.poll(0.02):
            body = channel.open(message.topic, message.payload).body
            if isinstance(body, AckBody):
                acked.update(iter_seqs(body.records))

    def send(body: Body) -> None:
        sealed = channel.seal(body, seq=next(envelope), stamp=Stamp.now(True))
        as_device.publish(sealed.topic, sealed.payload)

    try:
        with running_worker(site) as worker:
            wait_for(lambda: (pump(), as_device.connected)[1], "the test device's connection")
            time.sleep(0.5)  # the worker's shared subscription is in place
            good = 0
            for what, poison in _poisons():
                send(poison)
                good += 1
                send(records(good))  # the next good punch, right behind the poison
                wait_for(lambda n=good: (pump(), n in acked)[1], f"the punch after the poison {what!r}", timeout=20)
            assert not worker.stop.is_set()
        with running_worker(site):  # the same persistent session: nothing un-PUBACKed comes back
            time.sleep(1.5)
    finally:
        stop.set()
        as_device.close()
    assert server_seqs(site, DEVICE) == list(range(1, good + 1))
    counted = rejections(hr)
    assert counted.get("bad-payload", 0) == 4, counted  # seq, floor, range past 2^63, the store
    letters = dead_letters.recent(hr)
    assert {letter["device_id"] for letter in letters} == {DEVICE}
    assert sorted(letter["reason"] for letter in letters) == ["bad-payload"] * 4
    assert all(letter["error"] and letter["count"] == 1 for letter in letters)  # each met once: consumed
    assert any("poisoned punch" in letter["error"] for letter in letters)
