"""What the HR pages read about devices beyond their registration: when each was last heard from, its
command backlog and last acknowledgement, its newest punch's clock flag and model versions, and who is
assigned to which device (for the timesheet page's site and device filters).

Only what the server stores: records it received, the downlink commands and their confirmations, the
punches. It keeps neither the device's ``hello`` (software version, the device's own clock flag) nor its
retained status topic, and it never sees the terminal's own outbox backlog (the terminal panel shows it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore


def _by_device(rows: list[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    return {str(r[0]): tuple(r[1:]) for r in rows}


def status(store: HRStore) -> dict[str, dict[str, Any]]:
    """Per device id: last_record_at, pending_commands, last_confirmed_at, rotation_pending, last_punch_ms,
    last_punch_synced, models (from its newest punch record; {} without one)."""
    with store.db.read() as tx:
        last_record = _by_device(tx.execute("SELECT device_id, max(received_at) FROM records GROUP BY device_id").all())
        pending = _by_device(tx.execute(
            "SELECT device_id, count(*), sum(CASE WHEN type = 'rotate-key' THEN 1 ELSE 0 END) FROM downlinks"
            " WHERE confirmed_at IS NULL GROUP BY device_id"
        ).all())
        confirmed = _by_device(tx.execute(
            "SELECT device_id, max(confirmed_at) FROM downlinks WHERE confirmed_at IS NOT NULL GROUP BY device_id"
        ).all())
        punch = _by_device(tx.execute(
            "SELECT p.device_id, p.device_time_ms, p.clock_synced FROM punches p JOIN"
            " (SELECT device_id, max(seq) AS seq FROM punches GROUP BY device_id) n"
            " ON n.device_id = p.device_id AND n.seq = p.seq"
        ).all())
        bodies = _by_device(tx.execute(
            "SELECT r.device_id, r.body FROM records r JOIN"
            " (SELECT device_id, max(seq) AS seq FROM records WHERE type = 'punch' GROUP BY device_id) n"
            " ON n.device_id = r.device_id AND n.seq = r.seq"
        ).all())
    out: dict[str, dict[str, Any]] = {}
    for device_id in set(last_record) | set(pending) | set(confirmed) | set(punch):
        waiting = pending.get(device_id, (0, 0))
        newest = punch.get(device_id)
        out[device_id] = {
            "last_record_at": (last_record.get(device_id) or (None,))[0],
            "pending_commands": int(waiting[0] or 0),
            "rotation_pending": bool(waiting[1]),
            "last_confirmed_at": (confirmed.get(device_id) or (None,))[0],
            "last_punch_ms": int(newest[0]) if newest else None,
            "last_punch_synced": bool(newest[1]) if newest else None,
            "models": _models(bodies.get(device_id)),
        }
    return out


def _models(row: tuple[Any, ...] | None) -> dict[str, str]:
    if row is None:
        return {}
    try:
        models = json.loads(str(row[0])).get("models", {})
    except (ValueError, AttributeError):
        return {}  # a body the protocol validated is JSON; this only guards rows stored before that
    return {str(k): str(v) for k, v in models.items()} if isinstance(models, dict) else {}


def sites(store: HRStore) -> dict[str, str]:
    """Every device id with its site (revoked ones too: their punches stay in the timesheets)."""
    with store.db.read() as tx:
        return {str(d): str(s) for d, s in tx.execute("SELECT id, site FROM devices ORDER BY id").all()}


def assigned_to(store: HRStore, device_ids: frozenset[str]) -> frozenset[str]:
    """The employees assigned to any of ``device_ids``."""
    with store.db.read() as tx:
        rows = tx.execute("SELECT device_id, employee_no FROM device_assignments").all()
    return frozenset(str(no) for device_id, no in rows if device_id in device_ids)
