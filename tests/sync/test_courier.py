"""The courier against a real mosquitto (TLS + ACL) and a real ingest worker with a real HR store."""

from __future__ import annotations

import time

from device.store import Store, open_store, outbox
from device.store.punches import record_punch
from drills.chaos_site import Site, running_courier, running_worker, server_seqs, wait_for
from fleet.broker import Mosquitto
from tests.factories import punch

DEVICE = "site1-gate-a"


def device_store(site: Site) -> Store:
    return open_store(site.devices[DEVICE].database)


def write_punches(store: Store, count: int, start_ms: int = 1_790_000_000_000) -> list[int]:
    return [record_punch(store, punch(f"E{i % 7:03d}", "in", start_ms + i), DEVICE).seq for i in range(count)]


def test_puback_alone_delivers_nothing_the_server_ack_does(site: Site, site_broker: Mosquitto) -> None:
    store = device_store(site)
    seqs = write_punches(store, 12)
    with running_courier(site, DEVICE, batch_size=5, ack_timeout_seconds=1.0) as courier:
        # The broker takes every message (PUBACK) but no ingest worker runs: nothing may be marked.
        wait_for(lambda: courier.stats.records_sent == 12 and courier.link.pending_publishes() == 0, "PUBACKs")
        time.sleep(0.5)
        assert outbox.backlog(store) == 12
        with running_worker(site):
            wait_for(lambda: outbox.backlog(store) == 0, "server acks")
    assert server_seqs(site, DEVICE) == seqs
    delivered = store.conn.execute("SELECT count(*) FROM outbox WHERE delivered_at_ms IS NOT NULL").fetchone()[0]
    assert delivered == 12
    store.close()


def test_courier_resends_after_a_broker_restart_and_loses_nothing(site: Site, site_broker: Mosquitto) -> None:
    store = device_store(site)
    first = write_punches(store, 20)
    with running_worker(site), running_courier(site, DEVICE, batch_size=4, ack_timeout_seconds=1.0):
        wait_for(lambda: outbox.backlog(store) == 0, "first punches delivered")
        site_broker.kill()  # a crash: whatever the broker had not saved is gone
        second = write_punches(store, 30, start_ms=1_790_000_100_000)  # punching goes on while it is down
        assert outbox.backlog(store) == 30
        site_broker.start()
        wait_for(lambda: outbox.backlog(store) == 0, "punches written while the broker was down")
    assert server_seqs(site, DEVICE) == first + second
    store.close()


def test_records_written_while_the_server_is_away_arrive_once(site: Site, site_broker: Mosquitto) -> None:
    store = device_store(site)
    with running_courier(site, DEVICE, batch_size=3, ack_timeout_seconds=0.5) as courier:
        seqs = write_punches(store, 9)
        wait_for(lambda: courier.stats.resends >= 3, "resends while no worker answers")
        with running_worker(site):
            wait_for(lambda: outbox.backlog(store) == 0, "delivery once the server is back")
    assert server_seqs(site, DEVICE) == seqs  # resends were stored once
    store.close()
