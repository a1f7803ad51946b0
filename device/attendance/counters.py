"""The kiosk's counters: what the health page and ``/kiosk/metrics`` show, and what the demo's line reads.

Decisions are counted once per face, poor images once per change of reason (not per frame), so the
numbers mean "people", not "frames". Unknown faces and spoofs are also counted by their reason
(``unknown_by_reason``: no-match, margin; ``spoof_by_reason``: liveness, challenge), so a head-turn
challenge that timed out or a look-alike asked for their badge is a counted outcome, never silent.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

from device.attendance.outcomes import (
    Claimed,
    ClaimRefused,
    Debounced,
    Outcome,
    PoorImage,
    Punched,
    PunchFailed,
    Spoof,
    Unknown,
)


@dataclass
class KioskCounters:
    frames: int = 0
    punches: int = 0
    unknown: int = 0
    spoof: int = 0
    debounced: int = 0
    punch_failed: int = 0
    poor_image: Counter[str] = field(default_factory=Counter)
    claims: int = 0  # 1:1 claims accepted
    claims_refused: Counter[str] = field(default_factory=Counter)  # by ClaimRefused code
    unknown_by_reason: Counter[str] = field(default_factory=Counter)
    spoof_by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "claims": self.claims,
            "claims_refused": dict(self.claims_refused),
            "frames": self.frames,
            "punches": self.punches,
            "unknown": self.unknown,
            "spoof": self.spoof,
            "debounced": self.debounced,
            "punch_failed": self.punch_failed,
            "poor_image": dict(self.poor_image),
            "unknown_by_reason": dict(self.unknown_by_reason),
            "spoof_by_reason": dict(self.spoof_by_reason),
        }

    def count(self, outcome: Outcome, last: Outcome | None, *, frame: bool = True) -> None:
        """Count one outcome (``last`` = the previous one: a poor image is counted when its reason changes)."""
        self.frames += int(frame)
        if isinstance(outcome, Punched):
            self.punches += 1
        elif isinstance(outcome, Unknown):
            self.unknown += 1
            self.unknown_by_reason[outcome.reason] += 1
        elif isinstance(outcome, Spoof):
            self.spoof += 1
            self.spoof_by_reason[outcome.reason] += 1
        elif isinstance(outcome, Debounced):
            self.debounced += 1
        elif isinstance(outcome, PunchFailed):
            self.punch_failed += 1
        elif isinstance(outcome, PoorImage) and outcome != last:
            self.poor_image[outcome.reason] += 1
        elif isinstance(outcome, Claimed):
            self.claims += 1
        elif isinstance(outcome, ClaimRefused):
            self.claims_refused[outcome.code] += 1

    def copy(self) -> KioskCounters:
        return dataclasses.replace(self, poor_image=Counter(self.poor_image),
                                   claims_refused=Counter(self.claims_refused),
                                   unknown_by_reason=Counter(self.unknown_by_reason),
                                   spoof_by_reason=Counter(self.spoof_by_reason))
