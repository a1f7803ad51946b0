"""Webhooks: queued with the punch, signed with HMAC-SHA256, retried with backoff against a real receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sync.server import webhooks
from sync.server.store import HRStore, webhook_rows
from tests.server.builders import punch_record

SECRET = "s3cret-for-tests-0123456789"


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers with the statuses it is given, and keeps requests."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500, 200])
    yield r
    r.close()


def test_signed_delivery_retried_with_backoff_until_accepted(store: HRStore, receiver: Receiver) -> None:
    webhook_rows.create(store, url=receiver.url, secret=SECRET, events=["punch"], actor="t")
    assert store.ingest("gate-1", [punch_record(1)]).stored == [1]
    store.ingest("gate-1", [punch_record(1)])  # a duplicate queues nothing more
    start = store.now()

    assert webhooks.deliver_pending(store, webhooks.httpx_post) == {"delivered": 0, "retry": 1, "failed": 0}
    # Not due again until the first backoff has passed.
    assert webhooks.deliver_pending(store, webhooks.httpx_post) == {"delivered": 0, "retry": 0, "failed": 0}
    store.clock = lambda: start + webhooks.BACKOFF[0] + timedelta(seconds=1)
    assert webhooks.deliver_pending(store, webhooks.httpx_post) == {"delivered": 1, "retry": 0, "failed": 0}
    assert webhooks.deliver_pending(store, webhooks.httpx_post) == {"delivered": 0, "retry": 0, "failed": 0}

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
    store.ingest("gate-1", [punch_record(1)])
    moment = store.now()
    outcomes = []
    for _ in range(len(webhooks.BACKOFF) + 1):
        outcomes.append(webhooks.deliver_pending(store, webhooks.httpx_post, timeout=2.0))
        moment += timedelta(days=1)
        store.clock = lambda m=moment: m  # type: ignore[misc]
    assert [o["retry"] for o in outcomes] == [1] * len(webhooks.BACKOFF) + [0]
    assert outcomes[-1]["failed"] == 1
    (delivery,) = webhook_rows.deliveries(store)
    assert delivery["failed_at"] is not None and "Connect" in delivery["last_error"]


def test_wecom_format_body() -> None:
    stored = json.dumps({"event": "punch", "data": {"employee_no": "E001", "device_time_ms": 1_772_413_260_000,
                                                    "device_id": "gate-1", "clock_synced": True}})
    body = json.loads(webhooks.render_body("wecom", stored))
    assert body == {"records": [{"userid": "E001", "checkin_time": 1_772_413_260, "device_type": 2,
                                 "device_detail": "edgehr gate-1", "notes": ""}]}
