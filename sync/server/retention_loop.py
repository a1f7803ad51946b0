"""The retention job of ``edgehr server run``: a thread that enforces every site's retention policy once an
hour (``sync.server.store.retention``), recording the counts of each run. Like the webhook loop it holds its
own store connection and ends when its stop event is set; a database outage skips a round, logged."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sync.server.store import HRStore, retention
from sync.server.webhook_loop import database_errors

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0


class RetentionLoop:
    def __init__(
        self, open_store: Callable[[], HRStore], stop: threading.Event, interval_seconds: float = INTERVAL_SECONDS
    ) -> None:
        self._open_store = open_store
        self.stop = stop
        self.interval_seconds = interval_seconds
        self.rounds = 0
        self.store_errors = 0

    def run(self) -> None:
        store = self._open_store()
        try:
            while not self.stop.is_set():
                self.round(store)
                self.stop.wait(self.interval_seconds)
        finally:
            store.close()

    def round(self, store: HRStore) -> dict[str, object]:
        try:
            counts = retention.run(store)
            queued = retention.send_policies(store)  # devices registered or moved since the policy was set
        except database_errors() as exc:
            self.store_errors += 1
            log.error("retention round skipped: %s", exc)
            return {}
        self.rounds += 1
        if counts["sessions"]:
            log.info("retention: erased %s interview sessions past their site's policy", counts["sessions"])
        if queued:
            log.info("retention: policy queued for %s device(s)", len(queued))
        return counts

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="retention")
        thread.start()
        return thread
