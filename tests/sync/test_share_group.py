"""A device joining the ingest share group, against the real mosquitto 2.0 with the ops/ config, a real
ingest worker and a real courier.

mosquitto 2.0's acl_file does not check SUBSCRIBE, and checks a shared subscription's filter without its
``$share/<group>/`` prefix; the read rule then drops every message for the intruder, so it reads nothing.
What the group loses is the intruder's turns: each is a message no worker gets. Two defences hold the
record-level guarantee: the group name is an unguessable secret (``new_share_group``), and the courier
resends whatever the server has not acknowledged.
"""

from __future__ import annotations

from device.store import open_store, outbox
from device.store.punches import record_punch
from sync.broker import Mosquitto, client_tls_context
from sync.chaos_site import Site, running_courier, running_worker, server_seqs, wait_for
from sync.protocol import ingest_subscription
from tests.factories import punch
from tests.mqtt_helpers import MqttTestClient

DEVICE = "site1-gate-a"
INTRUDER = "site1-gate-b"  # a genuine device certificate of the same site
COUNT = 40


def intruder(site: Site, broker: Mosquitto) -> MqttTestClient:
    certs = site.client_certs(INTRUDER)
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
    from sync.chaos_site import new_share_group

    names = {new_share_group() for _ in range(3)}
    assert len(names) == 3 and all(len(n) > 20 and n != "ingest" for n in names)


def test_a_device_guessing_the_default_group_reads_nothing_and_takes_nothing(
    site: Site, site_broker: Mosquitto
) -> None:
    group = site.server_config().ingest.share_group
    assert group != "ingest"
    with intruder(site, site_broker) as spy, running_worker(site):
        spy.connect()
        spy.subscribe(ingest_subscription("ingest"))  # granted (SUBACK is not checked), but another group
        seqs = punch_all(site)
        with running_courier(site, DEVICE, batch_size=4, ack_timeout_seconds=0.5) as courier:
            wait_for(lambda: backlog(site) == 0, "every punch acknowledged")
        assert spy.receive(0.5) is None
        assert courier.stats.resends == 0  # the real group lost no message
    assert server_seqs(site, DEVICE) == seqs


def test_a_device_inside_the_group_reads_nothing_and_its_turns_are_resent(site: Site, site_broker: Mosquitto) -> None:
    """Pins mosquitto 2.0.11's behaviour: if the secret leaks, records still arrive, by resending."""
    group = site.server_config().ingest.share_group
    with intruder(site, site_broker) as spy, running_worker(site):
        spy.connect()
        codes = spy.subscribe(ingest_subscription(group))
        assert not codes[0].is_failure  # a broker that refused here (SUBACK 0x87) would close the gap
        seqs = punch_all(site)
        with running_courier(site, DEVICE, batch_size=4, ack_timeout_seconds=0.5) as courier:
            wait_for(lambda: backlog(site) == 0, "every punch acknowledged")
        assert spy.receive(0.5) is None  # the read ACL drops its turns: it never sees an envelope
        assert courier.stats.resends > 0  # the turns that fell on it were lost to the group, then resent
    assert server_seqs(site, DEVICE) == seqs  # all of them, once
