"""What the booths' retention jobs deleted: one row of counts per ``retention-run`` record (never content),
and the ``retention-policy`` commands that carry each site's policy to its devices."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sync.protocol import RetentionRunBody
from sync.server.store import downlinks
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

_COUNTS = ("audio_sessions", "audio_files", "audio_bytes", "transcript_sessions", "answers", "held_unsent")


def add_run(tx: Tx, device_id: str, seq: int, body: RetentionRunBody, received_at: str) -> None:
    """A booth's run, inside the ingest transaction (each (device, seq) once)."""
    tx.execute(
        "INSERT INTO booth_retention_runs (device_id, seq, ran_at_ms, policy, audio_days, transcript_days,"
        " audio_sessions, audio_files, audio_bytes, transcript_sessions, answers, held_unsent, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (device_id, seq, body.ran_at_ms, body.policy, body.audio_days, body.transcript_days,
         *(getattr(body, k) for k in _COUNTS), received_at),
    )  # fmt: skip


def runs(store: HRStore, limit: int = 100) -> list[dict[str, Any]]:
    """The booths' runs, newest first, with each booth's site."""
    with store.db.read() as tx:
        return tx.execute(
            "SELECT r.device_id, d.site, r.seq, r.ran_at_ms, r.policy, r.audio_days, r.transcript_days,"
            " r.audio_sessions, r.audio_files, r.audio_bytes, r.transcript_sessions, r.answers, r.held_unsent,"
            " r.received_at FROM booth_retention_runs r"
            " LEFT JOIN devices d ON d.id = r.device_id ORDER BY r.ran_at_ms DESC, r.device_id LIMIT ?",
            (limit,),
        ).dicts()


def send_policies(tx: Tx, wanted: dict[str, dict[str, int]], now: str) -> dict[str, int]:
    """Inside the caller's transaction: queue a ``retention-policy`` command for every active device whose
    wanted policy (device -> {audio_days, transcript_days}) differs from the last one queued for it; returns
    device -> command_seq of those queued."""
    last: dict[str, dict[str, int]] = {}
    for device_id, body in tx.execute(
        "SELECT device_id, body FROM downlinks WHERE id IN"
        " (SELECT max(id) FROM downlinks WHERE type = 'retention-policy' GROUP BY device_id)"
    ).all():
        last[str(device_id)] = json.loads(body)
    queued = {}
    for device_id, policy in sorted(wanted.items()):
        if last.get(device_id) != policy:
            queued[device_id] = downlinks.emit(tx, device_id, "retention-policy", policy, now)
    return queued


def delivery(store: HRStore) -> dict[str, dict[str, Any]]:
    """Per device: its last ``retention-policy`` command (days, queued, sent, confirmed)."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT device_id, command_seq, body, created_at, sent_at, confirmed_at FROM downlinks WHERE id IN"
            " (SELECT max(id) FROM downlinks WHERE type = 'retention-policy' GROUP BY device_id)"
        ).dicts()
    return {str(r["device_id"]): r | {"body": json.loads(r["body"])} for r in rows}
