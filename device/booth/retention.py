"""Audio retention on the booth: recordings of sessions that ended more than N days ago are deleted by a
periodic job, which records what it removed (counts only) in the audit log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from core.clock import Clock, to_ms
from device.store import Store, audit
from device.store import booth_rights as rights

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Purged:
    sessions: int
    files: int
    bytes: int


def purge_audio(store: Store, clock: Clock, retention_days: int) -> Purged:
    """Delete the audio of sessions completed more than ``retention_days`` ago; transcripts stay."""
    now = to_ms(clock.now())
    due = rights.audio_due(store, now - retention_days * DAY_MS)
    files = size = 0
    for _, paths in due:
        for path in paths:
            file = Path(path)
            try:
                size += file.stat().st_size
                file.unlink()
                files += 1
            except FileNotFoundError:
                continue
        if paths:
            parent = Path(paths[0]).parent
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
    rights.mark_audio_purged(store, [session for session, _ in due], now)
    if due:
        with store.transaction() as conn:
            audit.record(conn, at=clock.now(), actor="booth", action="interview-audio-retention",
                         subject="booth", detail={"sessions": len(due), "files": files, "bytes": size,
                                                  "retention_days": retention_days})
        log.info("booth audio retention", extra={"sessions": len(due), "files": files, "bytes": size})
    return Purged(len(due), files, size)
