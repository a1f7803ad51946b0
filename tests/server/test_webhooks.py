"""Webhooks: queued with the punch, signed with HMAC-SHA256, retried with backoff against a real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from sync.server import webhooks
from sync.server.store import HRStore, records, webhook_rows
from tests.http_receiver import Receiver
from tests.server.builders import bearer, punch_record

SECRET = "s3cret-for-tests-0123456789"
# The receivers listen on 127.0.0.1: these tests allow internal targets, as webhooks.allow_private_targets does.


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500, 200])
    yield r
    r.close()


def test_signed_delivery_retried_with_backoff_until_accepted(store: HRStore, receiver: Receiver) -> None:
    webhook_rows.create(store, url=receiver.url, secret=SECRET, events=["punch"], actor="t")
    assert records.ingest(store, "gate-1", [punch_record(1)]).stored == [1]
    records.ingest(store, "gate-1", [punch_record(1)])  # a duplicate queues nothing more
    start = store.now()

    none = {"delivered": 0, "retry": 0, "failed": 0, "held": 0}
    assert webhooks.deliver_pending(store, webhooks.httpx_post, allow_private=True) == none | {"retry": 1}
    # Not due again until the first backoff has passed.
    assert webhooks.deliver_pending(store, webhooks.httpx_post, allow_private=True) == none
    store.clock = lambda: start + webhooks.DEFAULT_POLICY.delay(1) + timedelta(seconds=1)
    assert webhooks.deliver_pending(store, webhooks.httpx_post, allow_private=True) == none | {"delivered": 1}
    assert webhooks.deliver_pending(store, webhooks.httpx_post, allow_private=True) == none

    assert len(receiver.requests) == 2
    headers, body = receiver.requests[1]
    assert webhooks.verify(SECRET, int(headers["x-edgehr-timestamp"]), body, headers["x-edgehr-signature"])
    assert not webhooks.verify("another-secret-0123456789", int(headers["x-edgehr-timestamp"]), body,
                               headers["x-edgehr-signature"])
    assert not webhooks.verify(SECRET, int(headers["x-edgehr-timestamp"]), body + b" ", headers["x-edgehr-signature"])
    event = json.loads(body)
    assert event["event"] == "punch" and event["data"]["employee_no"] == "E001"
    assert event["data"]["uid"] == "gate-1-punch-1" and "match_score" not in event["data"]
    (delivery,) = webhook_rows.deliveries(store)
    assert delivery["attempts"] == 2 and delivery["delivered_at"] is not None


def test_unreachable_receiver_gives_up_after_the_schedule(store: HRStore) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    webhook_rows.create(store, url=dead, secret=SECRET, events=["punch"], actor="t")
    records.ingest(store, "gate-1", [punch_record(1)])
    moment = store.now()
    outcomes = []
    attempts = webhooks.DEFAULT_POLICY.max_attempts
    for _ in range(attempts):
        outcomes.append(webhooks.deliver_pending(store, webhooks.httpx_post, timeout=2.0, allow_private=True))
        moment += timedelta(days=1)
        store.clock = lambda m=moment: m  # type: ignore[misc]
    assert [o["retry"] for o in outcomes] == [1] * (attempts - 1) + [0]
    assert outcomes[-1]["failed"] == 1
    (delivery,) = webhook_rows.deliveries(store)
    assert delivery["failed_at"] is not None and "Connect" in delivery["last_error"]


def test_wecom_format_body() -> None:
    stored = json.dumps({"event": "punch", "data": {"employee_no": "E001", "device_time_ms": 1_772_413_260_000,
                                                    "device_id": "gate-1", "clock_synced": True}})
    body = json.loads(webhooks.render_body("wecom", stored))
    assert body == {"records": [{"userid": "E001", "checkin_time": 1_772_413_260, "device_type": 2,
                                 "device_detail": "edgehr gate-1", "notes": ""}]}


def test_a_failing_endpoint_is_backed_off_as_a_whole_and_others_still_get_theirs(store: HRStore) -> None:
    down, healthy = Receiver([500, 500]), Receiver([])
    try:
        down_id = webhook_rows.create(store, url=down.url, secret=SECRET, events=["punch"], actor="t")
        webhook_rows.create(store, url=healthy.url, secret=SECRET, events=["punch"], actor="t")
        records.ingest(store, "gate-1", [punch_record(1), punch_record(2), punch_record(3)])
        policy = webhooks.RetryPolicy(first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=40))
        gate = webhooks.EndpointGate()
        start = store.now()

        # One doomed attempt for the endpoint that is down, not one per queued delivery.
        first = webhooks.deliver_pending(store, webhooks.httpx_post, policy=policy, gate=gate, allow_private=True)
        assert first == {"delivered": 3, "retry": 1, "failed": 0, "held": 2}
        assert len(down.requests) == 1 and len(healthy.requests) == 3
        assert gate.held(down_id, start) and gate.failures(down_id) == 1

        # After the endpoint's wait the first due delivery probes it; it fails again: the wait doubles.
        store.clock = lambda: start + timedelta(seconds=11)
        second = webhooks.deliver_pending(store, webhooks.httpx_post, policy=policy, gate=gate, allow_private=True)
        assert second == {"delivered": 0, "retry": 1, "failed": 0, "held": 2}
        assert gate.failures(down_id) == 2 and gate.held(down_id, start + timedelta(seconds=11 + 19))

        # Once it answers, one success opens it and everything due goes through.
        store.clock = lambda: start + timedelta(seconds=11 + 21)
        third = webhooks.deliver_pending(store, webhooks.httpx_post, policy=policy, gate=gate, allow_private=True)
        assert third == {"delivered": 3, "retry": 0, "failed": 0, "held": 0}
        assert gate.failures(down_id) == 0
        ids = [h["x-edgehr-delivery"] for h, _ in down.requests]
        assert len(down.requests) == 5 and len(set(ids)) == 3  # each delivery arrived; retries reuse their id
    finally:
        down.close()
        healthy.close()


def test_retry_waits_double_up_to_the_cap() -> None:
    policy = webhooks.RetryPolicy(first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=5), max_attempts=9)
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def _resolver(table: dict[str, list[str]]) -> webhooks.Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host} does not resolve")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://10.1.2.3/hook", []),
        ("http://169.254.169.254/latest/meta-data/", []),  # the cloud metadata service
        ("http://[::1]:8080/hook", []),
        ("http://[::ffff:127.0.0.1]/hook", []),
        ("https://localhost/hook", ["127.0.0.1", "::1"]),
        ("https://intranet.example/hook", ["192.168.1.20"]),
        ("https://mixed.example/hook", ["93.184.216.34", "10.0.0.7"]),  # one internal address is enough
        ("https://shared.example/hook", ["100.64.0.9"]),
    ],
)
def test_internal_targets_are_refused_unless_the_config_allows_them(url: str, addresses: list[str]) -> None:
    resolve = _resolver({urlsplit(url).hostname or "": addresses})
    with pytest.raises(webhooks.TargetRefused, match="allow_private_targets") as info:
        webhooks.check_target(url, allow_private=False, resolve=resolve)
    assert "internal address" in info.value.reason
    assert webhooks.check_target(url, allow_private=True, resolve=resolve).url == url
    public = webhooks.check_target("https://hooks.example/x", allow_private=False,
                                   resolve=_resolver({"hooks.example": ["93.184.216.34"]}))
    assert public.address == "93.184.216.34"


def test_a_delivery_to_an_internal_receiver_is_refused_by_default(store: HRStore) -> None:
    receiver = Receiver([])
    try:
        webhook_rows.create(store, url=receiver.url, secret=SECRET, events=["punch"], actor="t")
        records.ingest(store, "gate-1", [punch_record(1)])
        assert webhooks.deliver_pending(store, webhooks.httpx_post)["retry"] == 1
        assert receiver.requests == []  # nothing was sent
        (delivery,) = webhook_rows.deliveries(store)
        assert delivery["last_error"].startswith("refused: the host is or resolves to an internal address")
        assert "127.0.0.1" not in delivery["last_error"]  # resolved addresses stay in the server's log
    finally:
        receiver.close()


def test_the_host_is_resolved_at_delivery_and_the_checked_address_is_the_one_connected_to(store: HRStore) -> None:
    # DNS rebinding: a name that resolved to a public address when checked must not be resolved again by
    # the HTTP client (to an internal one). The client connects to the checked address: here a name only
    # this resolver knows reaches the receiver, with its own name in Host.
    receiver = Receiver([])
    port = urlsplit(receiver.url).port
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    try:
        webhook_rows.create(store, url=f"http://hooks.invalid:{port}/hook", secret=SECRET, events=["punch"], actor="t")
        records.ingest(store, "gate-1", [punch_record(1), punch_record(2)])
        outcome = webhooks.deliver_pending(store, webhooks.httpx_post, allow_private=True, resolve=resolve)
        assert outcome["delivered"] == 2
        assert calls == ["hooks.invalid", "hooks.invalid"]  # once per delivery, never cached from creation
        assert {h["host"] for h, _ in receiver.requests} == {f"hooks.invalid:{port}"}
        refused = webhooks.deliver_pending
        records.ingest(store, "gate-1", [punch_record(3)])
        assert refused(store, webhooks.httpx_post, resolve=resolve)["retry"] == 1  # rebinding to internal: refused
        assert len(receiver.requests) == 2
    finally:
        receiver.close()


def test_a_receivers_reply_text_never_comes_back_through_the_deliveries(store: HRStore) -> None:
    receiver = Receiver([500, 500], reply=b"<html>intranet admin: password=hunter2</html>")
    try:
        webhook_rows.create(store, url=receiver.url, secret=SECRET, events=["punch"], actor="t")
        records.ingest(store, "gate-1", [punch_record(1)])
        policy = webhooks.RetryPolicy(max_attempts=1)
        assert webhooks.deliver_pending(store, webhooks.httpx_post, policy=policy, allow_private=True)["failed"] == 1
        (delivery,) = webhook_rows.deliveries(store)
        (letter,) = webhook_rows.dead_letters(store)
        assert delivery["last_error"] == letter["last_error"] == "HTTP 500"
        # A row written by an older version (status and the reply's first 200 characters) is shown without it.
        webhook_rows.mark_failed_attempt(store, delivery["id"], "HTTP 502: <html>hunter2</html>", None, store.now())
        assert webhook_rows.deliveries(store)[0]["last_error"] == "HTTP 502"
        assert "hunter2" not in json.dumps(webhook_rows.dead_letters(store))
    finally:
        receiver.close()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://169.254.169.254/latest", "http://[::1]/h"]
)
def test_a_subscription_to_an_internal_address_is_refused_through_the_api(
    store: HRStore, client: TestClient, url: str
) -> None:
    admin = bearer(store, "admin")
    reply = client.post("/api/webhooks", json={"url": url, "secret": SECRET, "events": ["punch"]}, headers=admin)
    assert reply.status_code == 400 and reply.json()["error"] == "webhook-target-refused", reply.text


def test_a_subscription_to_a_public_name_is_kept_without_resolving_it(store: HRStore, client: TestClient) -> None:
    # hooks.example does not resolve offline: the name is checked at every delivery, not here.
    admin = bearer(store, "admin")
    url = "https://hooks.example/edgehr"
    reply = client.post("/api/webhooks", json={"url": url, "secret": SECRET, "events": ["punch"]}, headers=admin)
    assert reply.status_code == 201, reply.text
