"""Deliveries of webhooks in an HR-suite format (``wecom-api``, ``dingtalk``, ``feishu``): punches batched
to each API's documented limit, with an access token fetched from the app's id and secret, cached, and
fetched again before it expires or when the API says it expired (then the batch is sent once more).

A webhook's URL is the suite's API base (https://qyapi.weixin.qq.com, https://oapi.dingtalk.com,
https://open.feishu.cn); it passes the same target check as every webhook. Failures use the existing
back-off (per delivery and per endpoint) and dead letters. A batch refused for an unknown user id is sent
again one punch at a time, so only the punch of that user is dead-lettered (at once: retrying cannot
help); a rate limit holds the endpoint like any failed attempt. Replies are read as JSON (at most 64 KiB);
only their error codes are stored, never their text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.server.store import HRStore, webhook_rows
from sync.server.suite_config import SuitesSection
from sync.server.suite_formats import FORMATS, SUITES, Credentials, Request, SuiteFormat
from sync.server.webhooks import (
    DEFAULT_POLICY,
    EndpointGate,
    Resolver,
    RetryPolicy,
    Target,
    TargetRefused,
    check_target,
    resolve_host,
)

log = logging.getLogger(__name__)
MAX_REPLY = 64 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    body: Mapping[str, Any]


#: (target with the full URL, request, timeout seconds) -> reply; raises OSError/httpx errors on no reply.
SuiteHttp = Callable[[Target, Request, float], Reply]


def httpx_send(target: Target, request: Request, timeout: float) -> Reply:
    """The real transport: to the checked address (Host and SNI the URL's), no redirects, a bounded read."""
    import httpx

    url = httpx.URL(target.url)
    headers = {**request.headers, "Host": url.netloc.decode("ascii"), "User-Agent": "edgehr-suites/1"}
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        built = client.build_request(request.method, url.copy_with(host=target.address), content=request.body,
                                     headers=headers, extensions=extensions)
        reply = client.send(built, stream=True)
        try:
            raw = b""
            for chunk in reply.iter_bytes():
                raw += chunk
                if len(raw) > MAX_REPLY:
                    break
        finally:
            reply.close()
    try:
        body = json.loads(raw[:MAX_REPLY]) if raw else {}
    except ValueError:
        body = {}
    return Reply(reply.status_code, body if isinstance(body, dict) else {})


@dataclass
class TokenCache:
    """Access tokens per (suite, API base, app id), reused until ``refresh_before`` ahead of expiry."""

    refresh_before: timedelta = timedelta(minutes=5)
    _tokens: dict[tuple[str, str, str], tuple[str, datetime]] = field(default_factory=dict)
    fetched: int = 0  # how many tokens were fetched (tests and metrics)

    def get(self, key: tuple[str, str, str], now: datetime) -> str | None:
        found = self._tokens.get(key)
        return found[0] if found and now < found[1] - self.refresh_before else None

    def put(self, key: tuple[str, str, str], token: str, seconds: int, now: datetime) -> None:
        self.fetched += 1
        self._tokens[key] = (token, now + timedelta(seconds=seconds))

    def drop(self, key: tuple[str, str, str]) -> None:
        self._tokens.pop(key, None)


class SuiteFailure(Exception):
    def __init__(self, outcome: str, error: str) -> None:
        super().__init__(error)
        self.outcome, self.error = outcome, error


@dataclass
class SuitePusher:
    """Sends due suite deliveries; one per server (its token cache and endpoint gate live across rounds)."""

    settings: SuitesSection
    http: SuiteHttp = httpx_send
    policy: RetryPolicy = DEFAULT_POLICY
    gate: EndpointGate = field(default_factory=EndpointGate)
    tokens: TokenCache = field(default_factory=TokenCache)
    timeout: float = 10.0
    allow_private: bool = False
    resolve: Resolver = resolve_host

    def __post_init__(self) -> None:
        self.tokens.refresh_before = timedelta(seconds=self.settings.refresh_before_seconds)

    def deliver(self, store: HRStore, limit: int = 100) -> dict[str, int]:
        """Attempt every due suite delivery once (at most ``limit``); counts like ``deliver_pending``."""
        counts = {"delivered": 0, "retry": 0, "failed": 0, "held": 0}
        now = store.now()
        hooks: dict[int, list[dict[str, Any]]] = {}
        for d in webhook_rows.due(store, now, limit, formats=SUITES):
            hooks.setdefault(int(d["webhook_id"]), []).append(d)
        for hook, deliveries in hooks.items():
            if self.gate.held(hook, now):
                counts["held"] += len(deliveries)
                continue
            self._hook(store, hook, deliveries, now, counts)
        return counts

    def _hook(self, store: HRStore, hook: int, deliveries: list[dict[str, Any]], now: datetime,
              counts: dict[str, int]) -> None:
        suite = str(deliveries[0]["format"])
        fmt = FORMATS[suite]
        app_id, secret, env = self.settings.credentials(suite)
        try:
            if not app_id or not secret:
                raise SuiteFailure("error", f"{suite}: no app id or secret (set [suites] and ${env})")
            base = str(deliveries[0]["url"]).rstrip("/")
            check_target(base, allow_private=self.allow_private, resolve=self.resolve)
        except TargetRefused as exc:
            self._failed(store, hook, deliveries, f"refused: {exc.reason}", now, counts)
            return
        except SuiteFailure as exc:
            self._failed(store, hook, deliveries, exc.error, now, counts)
            return
        creds = Credentials(app_id, secret, self.settings.feishu_employee_type, self.settings.location_name)
        for start in range(0, len(deliveries), fmt.batch_limit):
            batch = deliveries[start:start + fmt.batch_limit]
            if not self._batch(store, hook, fmt, base, creds, batch, now, counts):
                counts["held"] += len(deliveries[start + fmt.batch_limit:])  # not tried: the endpoint is held
                return
        self.gate.succeeded(hook)

    def _batch(self, store: HRStore, hook: int, fmt: SuiteFormat, base: str, creds: Credentials,
               batch: list[dict[str, Any]], now: datetime, counts: dict[str, int]) -> bool:
        """Send one batch; False when the endpoint failed (the rest of the hook waits)."""
        try:
            self._send(fmt, base, creds, [json.loads(d["body"])["data"] for d in batch], now)
        except SuiteFailure as exc:
            if exc.outcome == "bad-user" and len(batch) > 1:
                singles = [self._batch(store, hook, fmt, base, creds, [d], now, counts) for d in batch]  # each one
                return all(singles)
            if exc.outcome == "bad-user":
                self._dead(store, batch[0], exc.error, now, counts)
                return True
            self._failed(store, hook, batch, exc.error, now, counts)
            return False
        except OSError as exc:
            self._failed(store, hook, batch, f"{type(exc).__name__}: {exc}", now, counts)
            return False
        for d in batch:
            webhook_rows.mark_delivered(store, d["id"], now)
            counts["delivered"] += 1
        return True

    def _send(self, fmt: SuiteFormat, base: str, creds: Credentials, events: list[Any], now: datetime) -> None:
        import httpx

        key = (fmt.name, base, creds.app_id)
        try:
            for attempt in (1, 2):
                token = self.tokens.get(key, now) or self._fetch_token(fmt, base, creds, key, now)
                request = fmt.push_request(token, events, creds)
                reply = self.http(self._target(base, request), request, self.timeout)
                outcome, error = fmt.classify(reply.status, reply.body)
                if outcome == "ok":
                    return
                if outcome == "token" and attempt == 1:
                    self.tokens.drop(key)  # expired early or revoked: fetch a new one and send again once
                    continue
                raise SuiteFailure(outcome, error)
        except httpx.HTTPError as exc:
            raise OSError(str(exc)) from exc

    def _fetch_token(self, fmt: SuiteFormat, base: str, creds: Credentials, key: tuple[str, str, str],
                     now: datetime) -> str:
        request = fmt.token_request(creds)
        reply = self.http(self._target(base, request), request, self.timeout)
        got = fmt.token_of(reply.body) if 200 <= reply.status < 300 else None
        if got is None:
            outcome, error = fmt.classify(reply.status, reply.body)
            raise SuiteFailure("rate" if outcome == "rate" else "error", f"token refused: {error or 'no token'}")
        self.tokens.put(key, got[0], got[1], now)
        return got[0]

    def _target(self, base: str, request: Request) -> Target:
        target = check_target(base, allow_private=self.allow_private, resolve=self.resolve)
        return Target(base + request.path, target.address)

    def _failed(self, store: HRStore, hook: int, deliveries: list[dict[str, Any]], error: str, now: datetime,
                counts: dict[str, int]) -> None:
        for d in deliveries:
            attempts = int(d["attempts"]) + 1
            next_at = now + self.policy.delay(attempts) if attempts < self.policy.max_attempts else None
            webhook_rows.mark_failed_attempt(store, d["id"], error, next_at, now)
            counts["retry" if next_at else "failed"] += 1
        if deliveries:
            self.gate.failed(hook, now, self.policy)
            log.warning("suite webhook %s: %d deliveries failed (%s)", hook, len(deliveries), error)

    def _dead(self, store: HRStore, delivery: dict[str, Any], error: str, now: datetime,
              counts: dict[str, int]) -> None:
        webhook_rows.mark_failed_attempt(store, delivery["id"], error, None, now)
        counts["failed"] += 1
        log.error("suite delivery %s dead-lettered: %s", delivery["id"], error)
