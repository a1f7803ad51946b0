"""A device trying to join the ingest share group, against the real mosquitto 2.0 with the ops/ config, a
real ingest worker and a real courier.

With mosquitto 2.0's acl_file a device could join the group (SUBSCRIBE is not checked) and each of its
turns was a message no worker got, costing a resend. The site broker now runs the dynamic-security rules
(fleet.dynsec), which refuse that SUBSCRIBE (SUBACK 0x87), so the group loses nothing, whether the device
knows the group's name or not. The name stays a secret (``new_share_group``) for brokers on the ACL file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from device.store import open_store, outbox
from device.store.punches import record_punch
from drills.chaos_site import Site, build_site, running_courier, running_worker, server_seqs, wait_for
from fleet.broker import Mosquitto, client_tls_context
from sync.protocol import ingest_subscription
from tests.factories import punch
from tests.mqtt_helpers import MqttTestClient

DEVICE = "site1-gate-a"
INTRUDER = "site1-gate-b"  # a genuine device of the same site, which the broker lets in
COUNT = 40
NOT_AUTHORIZED = 0x87


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site with the device and the intruder both provisioned (overrides tests/sync/conftest.py's ``site``)."""
    return build_site(tmp_path / "site", (DEVICE, INTRUDER))


def intruder(site: Site, broker: Mosquitto) -> MqttTestClient:
    certs = site.devices[INTRUDER].certs
    return MqttTestClient(broker, INTRUDER, tls=client_tls_context(site.ca.cert_path, certs.cert, certs.key))


def punch_all(site: Site) -> list[int]:
    store = open_store(site.devices[DEVICE].database)
    try:
        return [record_punch(store, punch(f"E{i % 5:03d}", "in", 1_790_000_000_000 + i), DEVICE).seq
                for i in range(COUNT)]
    finally:
        store.close()


def backlog(site: Site) -> int:
    store = open_store(site.devices[DEVICE].database)
    try:
        return outbox.backlog(store)
    finally:
        store.close()


def test_the_site_share_group_is_a_secret() -> None:
    from drills.chaos_site import new_share_group

    names = {new_share_group() for _ in range(3)}
    assert len(names) == 3 and all(len(n) > 20 and n != "ingest" for n in names)


def test_a_device_is_refused_the_default_group_and_takes_nothing(
    site: Site, site_broker: Mosquitto
) -> None:
    group = site.server_config().ingest.share_group
    assert group != "ingest"
    with intruder(site, site_broker) as spy, running_worker(site):
        spy.connect()
        assert spy.subscribe(ingest_subscription("ingest"))[0].value == NOT_AUTHORIZED
        seqs = punch_all(site)
        # A turn lost to a subscriber is never acked and so resent after the timeout: 5 s is long enough
        # that a worker slowed by a loaded machine is not mistaken for one (10 messages of 4 records).
        with running_courier(site, DEVICE, batch_size=4, ack_timeout_seconds=5.0) as courier:
            wait_for(lambda: backlog(site) == 0, "every punch acknowledged")
        assert spy.receive(0.5) is None
        assert courier.stats.resends == 0  # the real group lost no message
    assert server_seqs(site, DEVICE) == seqs


def test_a_device_knowing_the_group_is_refused_and_nothing_is_resent(site: Site, site_broker: Mosquitto) -> None:
    """If the secret leaks the group still loses nothing: the broker refuses the SUBSCRIBE."""
    group = site.server_config().ingest.share_group
    with intruder(site, site_broker) as spy, running_worker(site):
        spy.connect()
        assert spy.subscribe(ingest_subscription(group))[0].value == NOT_AUTHORIZED
        seqs = punch_all(site)
        # A turn lost to a subscriber is never acked and so resent after the timeout: 5 s is long enough
        # that a worker slowed by a loaded machine is not mistaken for one (10 messages of 4 records).
        with running_courier(site, DEVICE, batch_size=4, ack_timeout_seconds=5.0) as courier:
            wait_for(lambda: backlog(site) == 0, "every punch acknowledged")
        assert spy.receive(0.5) is None
        assert courier.stats.resends == 0  # no turn fell on it (on the ACL file some would, and be resent)
    assert server_seqs(site, DEVICE) == seqs  # all of them, once
