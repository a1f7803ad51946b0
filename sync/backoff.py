"""Exponential backoff with full jitter, for reconnecting to the broker.

Full jitter (a random delay between the minimum and the current cap) spreads the reconnects of a
fleet of terminals after a broker restart, instead of having every device knock at the same second.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays for consecutive failures: the cap doubles from ``minimum`` up to ``maximum``."""

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError(f"backoff needs 0 < minimum <= maximum, got {minimum} and {maximum}")
        self.minimum = minimum
        self.maximum = maximum
        self.failures = 0
        # Jitter is not a secret: a seeded or shared PRNG is fine (and makes tests reproducible).
        self._rng = rng or random.Random()  # noqa: S311

    def cap(self) -> float:
        """The largest delay the next failure may wait."""
        return min(self.maximum, self.minimum * 2.0 ** min(self.failures, 62))

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        cap = self.cap()
        self.failures += 1
        return self._rng.uniform(self.minimum, cap) if cap > self.minimum else self.minimum

    def reset(self) -> None:
        """A success: the next failure starts again from the minimum."""
        self.failures = 0
