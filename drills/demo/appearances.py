"""The demo's outcomes per appearance: each replayed scene, each time the looping replay shows it, is one
person (or attack) at the terminal, and its outcome is the kiosk's first decision within its frames.

The truth is the replay manifest (who each scene shows); the decisions come from the terminal's JSON log
("decision frame": frame index, kind, reason, employee_no), so nothing here trusts the kiosk's opinion
of who was in front of it. An appearance counts once all its frames were processed (``frames_done``).

Outcomes: genuine appearances are "recognised" (punched or already punched, under the right number),
"wrong-person", or rejected by cause ("liveness", "unknown", "margin", "challenge", "no-decision");
strangers and attacks are "refused" or "accepted".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drills.demo.replay import ReplayFrame

#: Most genuine appearances a demo may reject (issue 21's attempt-level figure).
GENUINE_REJECT_TARGET = 0.03


@dataclass
class Tally:
    genuine: Counter[str] = field(default_factory=Counter)
    strangers: Counter[str] = field(default_factory=Counter)
    attacks: Counter[str] = field(default_factory=Counter)

    def genuine_rejected(self) -> int:
        return sum(v for k, v in self.genuine.items() if k not in ("recognised", "wrong-person"))

    def as_dict(self) -> dict[str, Any]:
        return {"genuine": dict(self.genuine), "strangers": dict(self.strangers), "attacks": dict(self.attacks)}

    def line(self) -> str:
        seen = sum(self.genuine.values())
        causes = ", ".join(f"{k} {v}" for k, v in sorted(self.genuine.items()) if k != "recognised") or "none"
        attacks, strangers = sum(self.attacks.values()), sum(self.strangers.values())
        return (f"appearances: recognised {self.genuine['recognised']} of {seen} (rejected: {causes})"
                f" | attacks refused {self.attacks['refused']} of {attacks}"
                f" | strangers refused {self.strangers['refused']} of {strangers}")


def read_decisions(log_path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The "decision frame" entries of the terminal's JSON log from byte ``offset``; returns (entries, new offset)."""
    entries = []
    try:
        with log_path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return [], offset
    complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
    for line in complete.decode(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("msg") == "decision frame":
                entries.append(entry)
    return entries, offset + len(complete)


def _verdict(shown: ReplayFrame, first: dict[str, Any] | None) -> tuple[str, str]:
    """(group, outcome) of one appearance given its first decision (None = no decision)."""
    kind = first["kind"] if first else None
    recognised = kind in ("punched", "debounced")
    if shown.kind == "employee":
        if recognised:
            right = first is not None and first.get("employee_no") == shown.employee_no
            return "genuine", "recognised" if right else "wrong-person"
        if kind == "unknown":
            return "genuine", "margin" if first and first.get("reason") == "margin" else "unknown"
        if kind == "spoof":
            return "genuine", "challenge" if first and first.get("reason") == "challenge" else "liveness"
        return "genuine", "no-decision" if kind is None else str(kind)
    group = "attacks" if shown.kind == "spoof" else "strangers"
    return group, "accepted" if recognised else "refused"


def tally(manifest: list[ReplayFrame], decisions: list[dict[str, Any]], frames_done: int,
          frames_per_image: int) -> Tally:
    """Outcomes of every appearance whose frames were all processed (see module docstring)."""
    first: dict[int, dict[str, Any]] = {}
    for entry in sorted(decisions, key=lambda e: int(e["frame"])):
        showing = int(entry["frame"]) // frames_per_image
        if manifest[showing % len(manifest)].kind == "empty" and showing > 0:
            showing -= 1  # decided as the person left (a challenge not passed): theirs, not the empty scene's
        first.setdefault(showing, entry)
    result = Tally()
    for showing in range(frames_done // frames_per_image):
        shown = manifest[showing % len(manifest)]
        if shown.kind == "empty":
            continue
        group, outcome = _verdict(shown, first.get(showing))
        getattr(result, group)[outcome] += 1
    return result
