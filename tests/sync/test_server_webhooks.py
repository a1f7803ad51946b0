"""``edgehr server run`` delivers webhooks on its own: a real server run (ingest workers on the site's real
mosquitto, the HR API on uvicorn) and a real HTTP receiver on 127.0.0.1 that fails first, then accepts."""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from device.courier.settings_file import render_toml
from drills.chaos_site import Site, wait_for
from fleet.broker import Mosquitto
from sync.keyfiles import write_atomic
from sync.server import webhooks
from sync.server.auth import create_token
from sync.server.run import run_server
from sync.server.store import HRStore, records, webhook_rows
from tests.http_receiver import Receiver
from tests.server.builders import punch_record

SECRET = "s3cret-for-tests-0123456789"
#: Short waits so that the retries happen within the test; the loop and the backoff are the production ones.
#: The receivers listen on 127.0.0.1, an internal address: the config must allow it (off by default).
FAST = {"interval_seconds": 0.1, "first_retry_seconds": 0.2, "max_retry_seconds": 0.8, "timeout_seconds": 5.0,
        "allow_private_targets": True}


def configure_webhooks(site: Site, **settings: float) -> None:
    with site.server_config_path.open("rb") as f:
        config = tomllib.load(f)
    config["webhooks"] = settings
    write_atomic(site.server_config_path, render_toml(config).encode())


@contextmanager
def server_running(site: Site) -> Iterator[str]:
    """``edgehr server run`` in a thread (as the CLI runs it, minus the signal handlers); yields the API URL."""
    stop = threading.Event()
    outcome: list[int] = []
    thread = threading.Thread(target=lambda: outcome.append(run_server(site.server_config_path, stop)), name="server")
    thread.start()
    config = site.server_config()
    url = f"http://{config.api.host}:{config.api.port}"
    try:
        wait_for(lambda: _answers(url) or not thread.is_alive(), "the HR API")
        assert thread.is_alive(), "edgehr server run stopped at start"
        yield url
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive() and outcome == [0]  # the webhook thread and the workers stopped with it


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_server_run_retries_a_delivery_until_the_receiver_accepts_it(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    configure_webhooks(site, **FAST, max_attempts=5)
    receiver = Receiver([500, 503])  # down twice, then 200
    try:
        webhook_rows.create(hr, url=receiver.url, secret=SECRET, events=["punch"], actor="t")
        with server_running(site):
            records.ingest(hr, "gate-1", [punch_record(1)])  # a stored punch queues its webhook delivery
            wait_for(lambda: webhook_rows.deliveries(hr)[0]["delivered_at"] is not None, "the delivery")
        (delivery,) = webhook_rows.deliveries(hr)
        assert delivery["attempts"] == 3 and delivery["failed_at"] is None
        assert len(receiver.requests) == 3
        assert {h["x-edgehr-delivery"] for h, _ in receiver.requests} == {str(delivery["id"])}
        for headers, body in receiver.requests:
            assert webhooks.verify(SECRET, int(headers["x-edgehr-timestamp"]), body, headers["x-edgehr-signature"])
    finally:
        receiver.close()


def test_a_delivery_that_keeps_failing_is_dead_lettered_and_can_be_retried_through_the_api(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    configure_webhooks(site, **FAST, max_attempts=3)
    receiver = Receiver([500, 500, 500])  # refuses every attempt of the schedule, accepts afterwards
    token = create_token(hr, "hr", "test", actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        webhook_rows.create(hr, url=receiver.url, secret=SECRET, events=["punch"], actor="t")
        with server_running(site) as api:
            records.ingest(hr, "gate-1", [punch_record(1)])

            def dead_letters() -> list[dict[str, object]]:
                reply = httpx.get(f"{api}/api/webhooks/dead-letters", headers=auth, timeout=5)
                assert reply.status_code == 200, reply.text
                letters: list[dict[str, object]] = reply.json()["dead_letters"]
                return letters

            wait_for(lambda: bool(dead_letters()), "the dead letter")
            (letter,) = dead_letters()
            assert letter["attempts"] == 3 and letter["url"] == receiver.url
            assert str(letter["last_error"]).startswith("HTTP 500")
            time.sleep(1.0)  # several more rounds of the loop: a dead letter is not tried again
            assert len(receiver.requests) == 3

            reply = httpx.post(f"{api}/api/webhooks/deliveries/{letter['id']}/retry", headers=auth, timeout=5)
            assert reply.status_code == 200, reply.text
            wait_for(lambda: webhook_rows.deliveries(hr)[0]["delivered_at"] is not None, "the retried delivery")
            assert dead_letters() == []
            again = httpx.post(f"{api}/api/webhooks/deliveries/{letter['id']}/retry", headers=auth, timeout=5)
            assert again.status_code == 404  # delivered now: nothing to retry
        assert len(receiver.requests) == 4
    finally:
        receiver.close()


def test_webhooks_can_be_switched_off(site: Site, site_broker: Mosquitto, hr: HRStore) -> None:
    configure_webhooks(site, **FAST, enabled=False)
    receiver = Receiver([])
    try:
        webhook_rows.create(hr, url=receiver.url, secret=SECRET, events=["punch"], actor="t")
        with server_running(site):
            records.ingest(hr, "gate-1", [punch_record(1)])
            time.sleep(1.0)
        assert receiver.requests == []
        assert webhook_rows.deliveries(hr)[0]["attempts"] == 0
    finally:
        receiver.close()
