"""Retention on the booth: a periodic job deletes a session's audio N days after it ended and its transcripts
and scores M days after (only once the server has acknowledged its interview-result: an unsent result is never
lost). N and M come from the site's policy the server sent (``retention-policy`` command) or else the booth's
config. Each run records what it removed (counts only) in the audit log and, when it removed or held anything,
reports the counts to the server as a ``retention-run`` record."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from core.clock import Clock, to_ms
from device.config.booth import BoothSection
from device.store import Store, audit, outbox, retention_policy
from device.store import booth_rights as rights
from sync.protocol import RetentionRunBody

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
            _drop_empty(Path(paths[0]).parent)
    rights.mark_audio_purged(store, [session for session, _ in due], now)
    if due:
        with store.transaction() as conn:
            audit.record(conn, at=clock.now(), actor="booth", action="interview-audio-retention",
                         subject="booth", detail={"sessions": len(due), "files": files, "bytes": size,
                                                  "retention_days": retention_days})
        log.info("booth audio retention", extra={"sessions": len(due), "files": files, "bytes": size})
    return Purged(len(due), files, size)


def enforce(store: Store, clock: Clock, settings: BoothSection) -> RetentionRunBody:
    """One run of the job: audio, then transcripts and scores, under the server's policy or the config's."""
    policy = retention_policy.current(store)
    audio_days = policy.audio_days if policy else settings.retention_days
    transcript_days = policy.transcript_days if policy else settings.transcript_retention_days
    audio = purge_audio(store, clock, audio_days)
    at = clock.now()
    due, held = rights.transcripts_due(store, to_ms(at) - transcript_days * DAY_MS)
    with store.transaction() as conn:
        answers, files = rights.purge_transcripts_in(conn, due)
        run = RetentionRunBody(ran_at_ms=to_ms(at), policy="server" if policy else "config", audio_days=audio_days,
                               transcript_days=transcript_days, audio_sessions=audio.sessions, audio_files=audio.files,
                               audio_bytes=audio.bytes, transcript_sessions=len(due), answers=answers,
                               held_unsent=held)
        if due or held:
            audit.record(conn, at=at, actor="booth", action="interview-transcript-retention", subject="booth",
                         detail={"sessions": len(due), "answers": answers, "held_unsent": held,
                                 "transcript_days": transcript_days, "policy": run.policy})
        if due or held or audio.sessions:  # a report upward only when the run did something
            outbox.enqueue(conn, f"retention-{run.ran_at_ms}", run, created_at_ms=run.ran_at_ms,
                           clock_synced=clock.synced())
        # Unlinked before the commit, as an erasure does: a rollback leaves rows naming files already gone
        # (read as "no audio"), a committed deletion never leaves a recording behind.
        for path in files:
            with suppress(FileNotFoundError):
                Path(path).unlink()
            _drop_empty(Path(path).parent)
    if due:
        log.info("booth transcript retention", extra={"sessions": len(due), "answers": answers, "held": held})
    return run


def _drop_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        with suppress(OSError):
            folder.rmdir()
