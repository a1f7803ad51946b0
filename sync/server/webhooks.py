"""Outgoing webhooks: sign each queued delivery with HMAC-SHA256, POST it, retry with backoff.

``edgehr server run`` calls :func:`deliver_pending` periodically from :mod:`sync.server.webhook_loop`.

Receivers verify ``X-Edgehr-Signature: sha256=<hex>`` = HMAC-SHA256(secret, "<timestamp>.<body>") with
the timestamp from ``X-Edgehr-Timestamp`` (seconds), which lets them refuse stale replays. The body is
the delivery's JSON exactly as signed. Deliveries are at-least-once: ``X-Edgehr-Delivery`` is the id a
receiver de-duplicates on.

Formats: ``json`` (edgehr's own: ``{"event": ..., "data": ...}``) and ``wecom``: the request body of
WeCom's "添加打卡记录" API (POST /cgi-bin/checkin/add_checkin_record, developer.work.weixin.qq.com
document 99647: ``{"records": [{"userid", "checkin_time" (Unix seconds), "device_type", "device_detail",
"notes"}]}``) for a relay that adds the ``access_token``. The formats ``wecom-api``, ``dingtalk`` and
``feishu`` call the suites' own APIs with tokens fetched from the app's id and secret: they are
delivered by :mod:`sync.server.suite_push` (shapes, limits and codes in :mod:`sync.server.suite_formats`).

Targets: a webhook URL is chosen by whoever holds an HR token, so it must not turn the server into a way
into the site's own network. Unless ``webhooks.allow_private_targets`` is on, a URL whose host is or
resolves to a private, loopback, link-local or otherwise non-public address is refused. The host is
resolved at each delivery, every address it resolves to is checked, and the request then goes to the
checked address (the URL's host name still in ``Host`` and in TLS SNI and certificate checks): a name
that resolves to a public address for the check and to an internal one for the connection (DNS
rebinding) never reaches the internal one. A receiver's reply body is never read or stored: a failed
attempt records the status only, so no internal page's text can come back through the API.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.errors import InputError
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


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the webhook's URL and the checked address to connect to."""

    url: str
    address: str


#: (target, body bytes, headers, timeout seconds) -> reply; raises OSError (or httpx errors) on no reply.
HttpPost = Callable[[Target, bytes, Mapping[str, str], float], HttpReply]
#: (host, port) -> the addresses the host name resolves to; raises OSError when it does not resolve.
Resolver = Callable[[str, int], list[str]]


class TargetRefused(InputError):
    """A webhook URL that may not be delivered to (an internal address, or not a usable http(s) URL).

    ``reason`` says why without any resolved address, for the delivery's stored error."""

    code = "webhook-target-refused"

    def __init__(self, what: str, fix: str, *, reason: str) -> None:
        super().__init__(what, fix)
        self.reason = reason


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as the connection would use it)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a link-local IPv6 may carry its zone: fe80::1%eth0
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    # is_global is False for private, loopback, link-local (169.254.169.254, the cloud metadata service),
    # shared (100.64/10), reserved and unspecified addresses; multicast is never a receiver either.
    return not ip.is_global or ip.is_multicast


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(
            f"Webhook URL {url!r} is not an http(s) URL with a host.", "Give the receiver's full URL.", reason="bad URL"
        )
    try:
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(
            f"Webhook URL {url!r} has an invalid port.", "Give the receiver's full URL.", reason="bad URL"
        ) from exc


def _refuse_internal(host: str, internal: list[str]) -> TargetRefused:
    return TargetRefused(
        f"Webhook host {host} is or resolves to an internal address ({', '.join(internal)}); webhooks may "
        "only reach public addresses.",
        "Give the receiver's public URL, or, for a receiver inside the site's own network, set "
        "webhooks.allow_private_targets = true in the server config.",
        reason="the host is or resolves to an internal address and webhooks.allow_private_targets is off",
    )


def check_subscription(url: str, *, allow_private: bool) -> None:
    """Refuse at subscription what can never be delivered: not an http(s) URL, or an internal address
    written as such (or localhost). Names are not resolved here: the server may be offline, and what a
    name resolves to is checked again at every delivery (``check_target``), which is where it counts."""
    host, _ = _host_port(url)
    if allow_private:
        return
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        raise _refuse_internal(host, ["localhost"])
    try:
        literal = str(ipaddress.ip_address(host))
    except ValueError:
        return
    if _internal(literal):
        raise _refuse_internal(host, [literal])


def check_target(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> Target:
    """The address a delivery to ``url`` may connect to; TargetRefused if there is none.

    Every address the host resolves to must be public (unless ``allow_private``): a name resolving to
    one public and one internal address would otherwise reach the internal one on some attempts."""
    host, port = _host_port(url)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolve(host, port)
        except OSError as exc:
            raise TargetRefused(
                f"Webhook host {host} does not resolve ({exc}).",
                "Check the URL's host name and the server's DNS.",
                reason="the host name does not resolve",
            ) from exc
    if not addresses:
        raise TargetRefused(
            f"Webhook host {host} does not resolve.",
            "Check the URL's host name and the server's DNS.",
            reason="the host name does not resolve",
        )
    internal = sorted({a for a in addresses if _internal(a)})
    if internal and not allow_private:
        raise _refuse_internal(host, internal)
    return Target(url, addresses[0])


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


def httpx_post(target: Target, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpReply:
    """The real transport: one POST with httpx to the checked address, redirects not followed (a receiver
    must answer itself, and a redirect could point anywhere). The reply's body is not read."""
    import httpx

    url = httpx.URL(target.url)
    pinned = url.copy_with(host=target.address)
    sent = {**headers, "Host": url.netloc.decode("ascii")}
    # TLS: SNI and the certificate check use the URL's host name, not the address connected to.
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        request = client.build_request("POST", pinned, content=body, headers=sent, extensions=extensions)
        reply = client.send(request, stream=True)
        reply.close()
    return HttpReply(reply.status_code)


def deliver_pending(
    store: HRStore,
    http_post: HttpPost,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    gate: EndpointGate | None = None,
    limit: int = 100,
    timeout: float = 10.0,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> dict[str, int]:
    """Attempt every due delivery once (at most ``limit``); return counts of delivered/retry/failed/held.

    A 2xx reply delivers. Anything else (other status, timeout, refused connection) schedules the
    delivery's next attempt after ``policy.delay(attempts)``, or dead-letters it (``failed_at``) after
    ``policy.max_attempts``. With a ``gate``, a failure also holds that webhook's other deliveries
    ("held": not attempted, no attempt counted) until the endpoint's own backoff has passed.
    A target refused by :func:`check_target` (``allow_private`` off) is a failed attempt like any other:
    its error says why, and the URL's host is checked again at the next attempt.
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
            target = check_target(delivery["url"], allow_private=allow_private, resolve=resolve)
            reply = http_post(target, body, headers, timeout)
            if 200 <= reply.status < 300:
                webhook_rows.mark_delivered(store, delivery["id"], now)
                counts["delivered"] += 1
                if gate is not None:
                    gate.succeeded(hook)
                continue
            error = f"HTTP {reply.status}"  # the status only: a reply's text never reaches the store or the API
        except TargetRefused as exc:
            # The addresses go to the server's log only: stored, they would tell any HR token holder
            # what internal names resolve to, through the deliveries API.
            log.warning("webhook %s target refused: %s", hook, exc.what)
            error = f"refused: {exc.reason}"
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
