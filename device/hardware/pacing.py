"""Pacing of replayed frames and audio: deliver each item no earlier than its due time, without busy-waiting.

A replayed video or WAV file must arrive like the real device delivers it (a camera gives one frame every
1/fps seconds; a sound card gives 1600 samples every 100 ms), otherwise the kiosk loop and the booth see
an impossible stream. The pacer keeps a schedule on the monotonic clock and sleeps until the next item is
due; a consumer that falls behind is not given a burst of late items (the schedule restarts from now),
just as a camera drops frames rather than queueing them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.clock import Clock, SystemClock

# A sleep may wake a little early on some kernels; re-check this many times before giving up the wait.
_MAX_SLEEPS = 100


class Pacer:
    """Schedules items ``period_ns`` apart on ``clock``'s monotonic time.

    ``sleep`` is injected with the clock so tests can pair a hand-moved clock with a sleep that moves it.
    """

    def __init__(
        self,
        period_s: float,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"pacing period must be positive, got {period_s}")
        self.period_ns = int(period_s * 1e9)
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._next_due: int | None = None

    def wait(self, periods: float = 1.0) -> int:
        """Sleep until the next item is due, then book the one after it ``periods`` later.

        Returns the monotonic time (ns) at which the item is delivered.
        """
        now = self._clock.monotonic_ns()
        if self._next_due is None or now - self._next_due > self.period_ns:
            # First item, or the consumer fell more than a period behind: start the schedule from now.
            self._next_due = now
        for _ in range(_MAX_SLEEPS):
            if now >= self._next_due:
                break
            self._sleep((self._next_due - now) / 1e9)
            now = self._clock.monotonic_ns()
        self._next_due += int(self.period_ns * periods)
        return now

    def restart(self) -> None:
        """Forget the schedule (after a loop restart or a reopen): the next item is due at once."""
        self._next_due = None
