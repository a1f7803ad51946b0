"""The server away while devices keep sending: the broker's queue for the ingest session is bounded
(``max_queued_messages``), so a long outage can overflow it; the courier resends what the server has
not acknowledged, so every record still arrives once. Real mosquitto with a tiny queue, real worker and
courier; the outage here lasts seconds (the minutes-long drill is ``edgehr chaos --server-down-seconds``).
"""

from __future__ import annotations

from device.store import open_store, outbox
from device.store.punches import record_punch
from drills.chaos_site import Site, running_courier, running_worker, server_seqs, wait_for
from fleet.broker import Mosquitto
from tests.factories import punch

DEVICE = "site1-gate-a"
QUEUE = 5  # messages mosquitto keeps for a disconnected client
COUNT = 60
BATCH = 3  # 20 messages: four times what the broker will queue


def test_records_dropped_by_a_full_broker_queue_during_an_outage_are_resent(site: Site) -> None:
    broker = Mosquitto(site.folder / "small-queue-broker", tls=site.broker_tls, port=site.broker_port,
                       max_queued_messages=QUEUE)
    with broker:
        with running_worker(site) as worker:  # the ingest session exists (persistent, clean_start false)...
            wait_for(lambda: worker.link.connected, "the ingest worker's session")
        # ...and the server is now down.
        store = open_store(site.devices[DEVICE].database)
        seqs = [record_punch(store, punch(f"E{i % 5:03d}", "in", 1_790_000_000_000 + i), DEVICE).seq
                for i in range(COUNT)]
        with running_courier(site, DEVICE, batch_size=BATCH, ack_timeout_seconds=0.5,
                             ack_timeout_max_seconds=2.0) as courier:
            wait_for(lambda: courier.stats.records_sent >= COUNT, "every record published once")
            wait_for(lambda: "Outgoing messages are being dropped" in broker.log_text(), "the queue to overflow")
            assert outbox.backlog(store) == COUNT  # nothing is delivered until the server acknowledges it
            with running_worker(site):  # the server is back
                wait_for(lambda: outbox.backlog(store) == 0, "every record acknowledged", timeout=60)
            assert courier.stats.resends > 0
        store.close()
    assert server_seqs(site, DEVICE) == seqs  # all of them, once
