"""Outgoing webhooks: sign each queued delivery with HMAC-SHA256, POST it, retry with backoff.

``edgehr server run`` calls :func:`deliver_pending` periodically from :mod:`sync.server.webhook_loop`.

Receivers verify ``X-Edgehr-Signature: sha256=<hex>`` = HMAC-SHA256(secret, "<timestamp>.<body>") with
the timestamp from ``X-Edgehr-Timestamp`` (seconds), which lets them refuse stale replays. The body is
the delivery's JSON exactly as signed. Deliveries are at-least-once: ``X-Edgehr-Delivery`` is the id a
receiver de-duplicates on.

Formats: ``json`` (edgehr's own: ``{"event": ..., "data": ...}``) and ``wecom``: the request body of
WeCom's "添加打卡记录" API (POST /cgi-bin/checkin/add_checkin_record, developer.work.weixin.qq.com
document 99647: ``{"records": [{"userid", "checkin_time" (Unix seconds), "device_type", "device_detail",
"notes"}]}``). WeCom wants an ``access_token`` query parameter that expires every two hours; fetching
and refreshing it is not built, so a WeCom URL must be a relay that adds it. DingTalk and Feishu import
formats are not built (no official published field list was found to build them from).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sync.server.store import HRStore, webhook_rows

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class RetryPolicy:
    """How often a delivery is tried: waits double from ``first_delay`` up to ``max_delay``; after
    ``max_attempts`` failed attempts the delivery is dead-lettered (``failed_at``, listed by the API)."""

    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=12)
    #: 12 attempts with the default waits span about 17 hours: a receiver down overnight still gets it.
    max_attempts: int = 12

    def delay(self, failures: int) -> timedelta:
        """The wait after the ``failures``-th failure in a row (1 = the first)."""
        doubled = self.first_delay * (1 << min(max(failures - 1, 0), 40))
        return min(doubled, self.max_delay)


DEFAULT_POLICY = RetryPolicy()


class EndpointGate:
    """Backoff per receiver: after a failed attempt the webhook's other deliveries wait too.

    Without it a receiver that is down would get one doomed attempt per queued delivery each round (a
    backlog of thousands of punches). After ``n`` failures in a row the endpoint is held for
    ``policy.delay(n)``; the first delivery tried after that is the probe, and one success opens it.
    State lives in memory: a restarted server probes every endpoint once, then backs off again.
    """

    def __init__(self) -> None:
        self._failures: dict[int, int] = {}
        self._held_until: dict[int, datetime] = {}

    def held(self, webhook_id: int, now: datetime) -> bool:
        until = self._held_until.get(webhook_id)
        return until is not None and now < until

    def failed(self, webhook_id: int, now: datetime, policy: RetryPolicy) -> None:
        failures = self._failures.get(webhook_id, 0) + 1
        self._failures[webhook_id] = failures
        self._held_until[webhook_id] = now + policy.delay(failures)

    def succeeded(self, webhook_id: int) -> None:
        self._failures.pop(webhook_id, None)
        self._held_until.pop(webhook_id, None)

    def failures(self, webhook_id: int) -> int:
        return self._failures.get(webhook_id, 0)


WECOM_DEVICE_TYPE_ATTENDANCE_MACHINE = 2  # "考勤机(人脸识别...)" in WeCom's device_type list


@dataclass(frozen=True)
class HttpReply:
    status: int
    text: str = ""


#: (url, body bytes, headers, timeout seconds) -> reply; raises OSError (or httpx errors) on no reply.
HttpPost = Callable[[str, bytes, Mapping[str, str], float], HttpReply]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """What a receiver does (also used by the tests): constant-time comparison of the signature."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def render_body(body_format: str, stored_body: str) -> bytes:
    """The bytes sent for a delivery in the webhook's format."""
    if body_format == "wecom":
        event = json.loads(stored_body)["data"]
        record = {
            "userid": event["employee_no"],
            "checkin_time": event["device_time_ms"] // 1000,
            "device_type": WECOM_DEVICE_TYPE_ATTENDANCE_MACHINE,
            "device_detail": f"edgehr {event['device_id']}",
            "notes": "" if event["clock_synced"] else "device clock not synchronised",
        }
        return json.dumps({"records": [record]}, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return stored_body.encode("utf-8")


def httpx_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpReply:
    """The real transport: one POST with httpx, redirects not followed (a receiver must answer itself)."""
    import httpx

    reply = httpx.post(url, content=body, headers=dict(headers), timeout=timeout, follow_redirects=False)
    return HttpReply(reply.status_code, reply.text[:500])


def deliver_pending(
    store: HRStore,
    http_post: HttpPost,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    gate: EndpointGate | None = None,
    limit: int = 100,
    timeout: float = 10.0,
) -> dict[str, int]:
    """Attempt every due delivery once (at most ``limit``); return counts of delivered/retry/failed/held.

    A 2xx reply delivers. Anything else (other status, timeout, refused connection) schedules the
    delivery's next attempt after ``policy.delay(attempts)``, or dead-letters it (``failed_at``) after
    ``policy.max_attempts``. With a ``gate``, a failure also holds that webhook's other deliveries
    ("held": not attempted, no attempt counted) until the endpoint's own backoff has passed.
    """
    import httpx

    counts = {"delivered": 0, "retry": 0, "failed": 0, "held": 0}
    now = store.now()
    for delivery in webhook_rows.due(store, now, limit):
        hook = int(delivery["webhook_id"])
        if gate is not None and gate.held(hook, now):
            counts["held"] += 1
            continue
        body = render_body(delivery["format"], delivery["body"])
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "edgehr-webhooks/1",
            "X-Edgehr-Event": delivery["event"],
            "X-Edgehr-Delivery": str(delivery["id"]),
            "X-Edgehr-Timestamp": str(timestamp),
            "X-Edgehr-Signature": sign(delivery["secret"], timestamp, body),
        }
        error = ""
        try:
            reply = http_post(delivery["url"], body, headers, timeout)
            if 200 <= reply.status < 300:
                webhook_rows.mark_delivered(store, delivery["id"], now)
                counts["delivered"] += 1
                if gate is not None:
                    gate.succeeded(hook)
                continue
            error = f"HTTP {reply.status}: {reply.text[:200]}"
        except (OSError, httpx.HTTPError) as exc:  # no reply at all: the receiver is down or unreachable
            error = f"{type(exc).__name__}: {exc}"
        attempts = int(delivery["attempts"]) + 1  # this one included
        next_at: datetime | None = now + policy.delay(attempts) if attempts < policy.max_attempts else None
        webhook_rows.mark_failed_attempt(store, delivery["id"], error, next_at, now)
        if gate is not None:
            gate.failed(hook, now, policy)
        counts["retry" if next_at else "failed"] += 1
        log.warning("webhook delivery %s to webhook %s failed (%s)", delivery["id"], delivery["webhook_id"], error)
    return counts


def pending_count(store: HRStore) -> dict[str, Any]:
    rows = webhook_rows.deliveries(store)
    return {
        "pending": sum(1 for r in rows if r["delivered_at"] is None and r["failed_at"] is None),
        "failed": sum(1 for r in rows if r["failed_at"] is not None),
        "delivered": sum(1 for r in rows if r["delivered_at"] is not None),
    }
