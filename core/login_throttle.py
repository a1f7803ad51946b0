"""Throttling of logins per client address (the terminal panel's accounts, the HR server's users), with
exponential back-off and a bounded table.

Every attempt is counted *before* its password is checked (scrypt takes a fifth of a second): forty
simultaneous guesses from one address get at most ``MAX_FAILURES`` checks, not forty. After that many
failures in a row an address waits ``FIRST_LOCK_SECONDS``, and each failure after a wait doubles the next
wait, up to ``MAX_LOCK_SECONDS``. A correct password clears the address's record. Each address is counted
on its own: someone guessing from one laptop does not lock the real admin out at the terminal or from
another desk. The table holds at most ``MAX_CLIENTS`` addresses (the least recently seen one is dropped).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

#: Wrong passwords in a row an address may try before it has to wait.
MAX_FAILURES = 5
FIRST_LOCK_SECONDS = 60.0
MAX_LOCK_SECONDS = 15 * 60.0
#: An address whose last failure is this old (and not waiting) starts afresh.
FORGET_SECONDS = 15 * 60.0
MAX_CLIENTS = 1024


class LoginThrottled(Exception):
    """This address must wait ``retry_after`` seconds before its next login attempt."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"login throttled for {retry_after:.0f} s")
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


@dataclass
class _Record:
    failures: int = 0  # attempts counted and not cleared by a success (those being checked included)
    locked_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    """Thread-safe; ``monotonic`` is passed in so tests can move time."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS) -> None:
        self._now = monotonic
        self._max_clients = max_clients
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must still wait (0: it may try)."""
        with self._lock:
            record = self._current(client, self._now())
            return max(0.0, record.locked_until - self._now()) if record else 0.0

    def begin(self, client: str) -> None:
        """Count an attempt by ``client`` before its password is checked; LoginThrottled if it must wait."""
        now = self._now()
        with self._lock:
            record = self._current(client, now)
            if record is None:
                record = self._records[client] = _Record()
                while len(self._records) > self._max_clients:
                    self._records.popitem(last=False)
            if record.locked_until > now:
                raise LoginThrottled(record.locked_until - now)
            record.failures += 1
            record.last = now
            self._records.move_to_end(client)
            if record.failures >= MAX_FAILURES:
                doublings = record.failures - MAX_FAILURES
                record.locked_until = now + min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2 ** min(doublings, 16))

    def succeeded(self, client: str) -> None:
        """The password was right: forget the address's failures."""
        with self._lock:
            self._records.pop(client, None)

    def _current(self, client: str, now: float) -> _Record | None:
        record = self._records.get(client)
        if record is not None and now >= record.locked_until and now - record.last > FORGET_SECONDS:
            del self._records[client]
            return None
        return record

    def __len__(self) -> int:
        return len(self._records)
