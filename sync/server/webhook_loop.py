"""The webhook delivery loop of ``edgehr server run``: a thread that sends due deliveries every few seconds.

Each round is bounded (``webhooks.batch`` deliveries, each with ``webhooks.timeout_seconds``); the loop
ends when its stop event is set, finishing at most the round under way. It holds its own HR store
connection, so it never shares one with the API's threads. Backoff is per delivery (its own attempts)
and per endpoint (:class:`~sync.server.webhooks.EndpointGate`); dead letters stay in the store for the
API (``GET /api/webhooks/dead-letters``, ``POST /api/webhooks/deliveries/{id}/retry``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta

from core.errors import StoreError
from sync.server.config import WebhooksSection
from sync.server.store import HRStore
from sync.server.suite_config import SuitesSection
from sync.server.suite_push import SuitePusher
from sync.server.webhooks import EndpointGate, HttpPost, RetryPolicy, deliver_pending, httpx_post

log = logging.getLogger(__name__)


def database_errors() -> tuple[type[Exception], ...]:
    """Errors meaning "the database is unavailable right now": the store's own and its drivers' (the
    repositories let driver errors through, e.g. a locked SQLite file or a PostgreSQL restart)."""
    import psycopg  # a dependency of the server; imported here, like the store does

    return (StoreError, sqlite3.Error, psycopg.Error)


def policy_of(settings: WebhooksSection) -> RetryPolicy:
    return RetryPolicy(
        first_delay=timedelta(seconds=settings.first_retry_seconds),
        max_delay=timedelta(seconds=settings.max_retry_seconds),
        max_attempts=settings.max_attempts,
    )


class WebhookLoop:
    """Calls ``deliver_pending`` every ``settings.interval_seconds`` until ``stop`` is set."""

    def __init__(
        self,
        open_store: Callable[[], HRStore],
        settings: WebhooksSection,
        stop: threading.Event,
        http_post: HttpPost = httpx_post,
        *,
        suites: SuitesSection | None = None,
    ) -> None:
        self._open_store = open_store
        self.settings = settings
        self.policy = policy_of(settings)
        self.gate = EndpointGate()
        self.stop = stop
        self.http_post = http_post
        # HR-suite formats (WeCom API, DingTalk, Feishu): their own batching and access tokens.
        self.suites = SuitePusher(
            suites or SuitesSection(), policy=self.policy, timeout=settings.timeout_seconds,
            allow_private=settings.allow_private_targets,
        )
        self._database_errors = database_errors()
        self.totals = {"delivered": 0, "retry": 0, "failed": 0, "held": 0, "rounds": 0, "store_errors": 0}

    def run(self) -> None:
        store = self._open_store()
        try:
            while not self.stop.is_set():
                self.round(store)
                self.stop.wait(self.settings.interval_seconds)
        finally:
            store.close()

    def round(self, store: HRStore) -> dict[str, int]:
        try:
            counts = deliver_pending(
                store,
                self.http_post,
                policy=self.policy,
                gate=self.gate,
                limit=self.settings.batch,
                timeout=self.settings.timeout_seconds,
                allow_private=self.settings.allow_private_targets,
            )
            for key, value in self.suites.deliver(store, self.settings.batch).items():
                counts[key] += value
        except self._database_errors as exc:
            # The database is away (PostgreSQL restarting, SQLite busy): the deliveries wait in it, so the
            # next round picks them up; logged every time so an outage is visible.
            self.totals["store_errors"] += 1
            log.error("webhook round skipped: %s", exc)
            return {}
        self.totals["rounds"] += 1
        for key, value in counts.items():
            self.totals[key] += value
        if counts["failed"]:
            log.error("%d webhook deliveries dead-lettered; see GET /api/webhooks/dead-letters", counts["failed"])
        return counts

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="webhooks")
        thread.start()
        return thread
