"""Outgoing webhooks: sign each queued delivery with HMAC-SHA256, POST it, retry with backoff.

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

#: Waits after the 1st, 2nd, ... failed attempt; after the last one the delivery is marked failed.
BACKOFF: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
)
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


def deliver_pending(store: HRStore, http_post: HttpPost, *, limit: int = 100, timeout: float = 10.0) -> dict[str, int]:
    """Attempt every due delivery once (at most ``limit``); return counts of delivered/retry/failed.

    A 2xx reply delivers. Anything else (other status, timeout, refused connection) schedules the next
    attempt after ``BACKOFF[attempts]``, or marks the delivery failed when the schedule is used up.
    """
    import httpx

    counts = {"delivered": 0, "retry": 0, "failed": 0}
    now = store.now()
    for delivery in webhook_rows.due(store, now, limit):
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
                continue
            error = f"HTTP {reply.status}: {reply.text[:200]}"
        except (OSError, httpx.HTTPError) as exc:  # no reply at all: the receiver is down or unreachable
            error = f"{type(exc).__name__}: {exc}"
        attempts = int(delivery["attempts"])
        next_at: datetime | None = now + BACKOFF[attempts] if attempts < len(BACKOFF) else None
        webhook_rows.mark_failed_attempt(store, delivery["id"], error, next_at, now)
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
