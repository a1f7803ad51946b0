"""What the HR server's /metrics reads from the shared store at scrape time (all of its SQL is here).

The counts live in the store, not in the memory of one process: ingest workers on any number of hosts
write the same tables, so one scrape of any API process sees them all, and a restart loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore


@dataclass(frozen=True)
class StoreCounts:
    records_by_type: dict[str, int] = field(default_factory=dict)
    punches_by_clock: dict[bool, int] = field(default_factory=dict)  # clock_synced -> punches
    rejections_by_reason: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    webhook_dead_letters: int = 0
    webhook_pending: int = 0
    devices_by_status: dict[str, int] = field(default_factory=dict)
    #: Each device's newest stored record (Unix time of its arrival).
    last_record_at: dict[str, float] = field(default_factory=dict)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def counts(store: HRStore) -> StoreCounts:
    """Every count in one read transaction (one consistent snapshot)."""
    with store.db.read() as tx:
        records = tx.execute("SELECT type, count(*) FROM records GROUP BY type").all()
        punches = tx.execute("SELECT clock_synced, count(*) FROM punches GROUP BY clock_synced").all()
        rejections = tx.execute("SELECT reason, sum(count) FROM rejections GROUP BY reason").all()
        dead = tx.execute("SELECT count(*) FROM dead_letters").scalar()
        webhook_dead = tx.execute("SELECT count(*) FROM webhook_deliveries WHERE failed_at IS NOT NULL").scalar()
        webhook_pending = tx.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE failed_at IS NULL AND delivered_at IS NULL"
        ).scalar()
        devices = tx.execute("SELECT status, count(*) FROM devices GROUP BY status").all()
        last = tx.execute("SELECT device_id, max(received_at) FROM records GROUP BY device_id").all()
    synced: dict[bool, int] = {}
    for flag, n in punches:
        synced[bool(flag)] = synced.get(bool(flag), 0) + int(n)
    return StoreCounts(
        records_by_type={str(t): int(n) for t, n in records},
        punches_by_clock=synced,
        rejections_by_reason={str(r): int(n) for r, n in rejections},
        dead_letters=int(dead or 0),
        webhook_dead_letters=int(webhook_dead or 0),
        webhook_pending=int(webhook_pending or 0),
        devices_by_status={str(s): int(n) for s, n in devices},
        last_record_at={str(d): _epoch(str(at)) for d, at in last if at},
    )
