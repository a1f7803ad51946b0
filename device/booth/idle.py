"""An abandoned session: how long the booth waits for the candidate's next input before it gives up.

Input is a step the candidate takes on the screen (check-in, consent, start, next, typing...) or an answer
recorded with speech in it. The wait does not run while an answer is being recorded, and a step with its own
countdown (preparation, the typing time limit) starts the wait only when that countdown ends, so a slow
typist is never taken for gone. What the booth then does is in ``device.booth.flow.Booth.abandon``.
"""

from __future__ import annotations

from core.clock import Clock

#: The phases where a candidate can walk away: checked in but not consented, the optional self-report,
#: answering, offered a resume.
WATCHED_PHASES = ("notice", "demographics", "question", "resume")
#: The integrity flag an abandoned session's interview-result carries (for the reviewer; never a score).
ABANDONED_FLAG = "session-abandoned"


class IdleTimer:
    def __init__(self, clock: Clock, timeout_seconds: float) -> None:
        self._clock = clock
        self._timeout_ns = int(timeout_seconds * 1_000_000_000)
        self._last_ns = clock.monotonic_ns()

    def touch(self) -> None:
        """The candidate did something: the wait starts again."""
        self._last_ns = self._clock.monotonic_ns()

    def expired(self, phase: str, sub: str, step_deadline_ns: int | None) -> bool:
        if phase not in WATCHED_PHASES or sub == "recording":
            return False
        since = self._last_ns
        if sub in ("prepare", "typing") and step_deadline_ns is not None:
            since = max(since, step_deadline_ns)
        return self._clock.monotonic_ns() - since >= self._timeout_ns
