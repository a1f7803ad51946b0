"""Webhooks: queued with the punch, signed with HMAC-SHA256, retried with backoff against a real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from sync.server import webhooks
from sync.server.store import HRStore, records, webhook_rows
from tests.http_receiver import Receiver
from tests.server.builders import punch_record

SECRET = "s3cret-for-tests-0123456789"


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
    assert webhooks.deliver_pending(store, webhooks.httpx_post) == none | {"retry": 1}
    # Not due again until the first backoff has passed.
    assert webhooks.deliver_pending(store, webhooks.httpx_post) == none
    store.clock = lambda: start + webhooks.DEFAULT_POLICY.delay(1) + timedelta(seconds=1)
    assert webhooks.deliver_pending(store, webhooks.httpx_post) == none | {"delivered": 1}
    assert webhooks.deliver_pending(store, webhooks.httpx_post) == none

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
        outcomes.append(webhooks.deliver_pending(store, webhooks.httpx_post, timeout=2.0))
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
        first = webhooks.deliver_pending(store, webhooks.httpx_post, policy=policy, gate=gate)
        assert first == {"delivered": 3, "retry": 1, "failed": 0, "held": 2}
        assert len(down.requests) == 1 and len(healthy.requests) == 3
        assert gate.held(down_id, start) and gate.failures(down_id) == 1

        # After the endpoint's wait the first due delivery probes it; it fails again: the wait doubles.
        store.clock = lambda: start + timedelta(seconds=11)
        second = webhooks.deliver_pending(store, webhooks.httpx_post, policy=policy, gate=gate)
        assert second == {"delivered": 0, "retry": 1, "failed": 0, "held": 2}
        assert gate.failures(down_id) == 2 and gate.held(down_id, start + timedelta(seconds=11 + 19))

        # Once it answers, one success opens it and everything due goes through.
        store.clock = lambda: start + timedelta(seconds=11 + 21)
        third = webhooks.deliver_pending(store, webhooks.httpx_post, policy=policy, gate=gate)
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
