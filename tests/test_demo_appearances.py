"""The demo's per-appearance tally (drills.demo.appearances) on a hand-made manifest and decision log."""

from __future__ import annotations

import json
from pathlib import Path

from drills.demo.appearances import read_decisions, tally
from drills.demo.replay import ReplayFrame

MANIFEST = [ReplayFrame("0.jpg", "employee", "D001"), ReplayFrame("1.jpg", "empty", None),
            ReplayFrame("2.jpg", "employee", "D002"), ReplayFrame("3.jpg", "empty", None),
            ReplayFrame("4.jpg", "spoof", None), ReplayFrame("5.jpg", "empty", None),
            ReplayFrame("6.jpg", "stranger", None), ReplayFrame("7.jpg", "empty", None)]


def decision(frame: int, kind: str, employee_no: str | None = None, reason: str | None = None) -> dict[str, object]:
    return {"msg": "decision frame", "frame": frame, "kind": kind, "employee_no": employee_no, "reason": reason}


def test_each_appearance_counts_its_first_decision_by_cause(tmp_path: Path) -> None:
    log = tmp_path / "terminal.log"
    entries = [decision(3, "punched", "D001"), decision(4, "debounced", "D001"),  # one appearance, once
               decision(14, "spoof", reason="liveness"),  # D002 rejected by liveness
               decision(27, "spoof", reason="liveness"),  # the attack refused
               decision(50, "debounced", "D001"),  # second loop: D001 recognised again
               decision(68, "spoof", reason="challenge")]  # D002 left mid-challenge: theirs, not the empty scene's
    log.write_text("plain text line\n" + "".join(json.dumps(e) + "\n" for e in entries) + '{"msg": "half')
    found, offset = read_decisions(log)
    assert len(found) == 6 and offset < log.stat().st_size  # the half-written line waits for next time
    counted = tally(MANIFEST, found, frames_done=96, frames_per_image=6)
    assert counted.genuine == {"recognised": 2, "liveness": 1, "challenge": 1}
    assert counted.attacks == {"refused": 2}
    assert counted.strangers == {"refused": 2}  # no decision for a stranger is a refusal too
    assert counted.genuine_rejected() == 2
    assert "recognised 2 of 4" in counted.line()
