"""Each device's "synced through" watermark: a time on the device's own clock up to which every record
it had made is stored here (PROTOCOL.md section 9, "Synced through"). Timesheet days are final from it.

How it moves. A ``hello`` says "my next record will be number N" and its envelope carries the device time T
it was sealed at (the courier reads T before N, so every record made at or before T has a number below N).
Once every record 1..N-1 of the device is stored, every record made by T is, and the watermark moves to T.
The check runs when the hello arrives and, while a hello waits for its records (its *claim*), after each
run of records is stored, in that run's transaction. Only the records since the last satisfied claim are
counted (``floor_seq``), so a check costs the size of the backlog it covers, not the device's history.

A device flagged for a sequence regression (``devices.sequence_flag``) does not move: its records under
reused numbers are not stored yet although the numbers are. With several ingest workers on PostgreSQL a
claim can be left waiting when its last records commit at the same moment on another worker; the next
hello (the courier sends one every few minutes) settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

I64_MAX = 2**63 - 1


@dataclass(frozen=True)
class DeviceSync:
    """What the timesheets need of one device: where it is, whether it may still hold punches, and how
    far it is known synced (None: never)."""

    device_id: str
    site: str
    active: bool
    synced_through_ms: int | None
    synced_at: str | None  # server time the watermark last moved


def on_hello(store: HRStore, device_id: str, next_record_seq: int, created_ms: int) -> bool:
    """A hello from ``device_id`` (sealed at device time ``created_ms``): move its watermark now when
    records 1..next_record_seq-1 are all stored, else keep the hello as a claim. True: it moved."""
    if not 0 <= created_ms <= I64_MAX:
        return False  # a time no BIGINT holds: a broken clock, never a watermark
    now = store.now_iso()
    with store.db.transaction() as tx:
        tx.execute("INSERT INTO device_sync (device_id) VALUES (?) ON CONFLICT (device_id) DO NOTHING", (device_id,))
        floor, mark, claim_ms = tx.execute(
            "SELECT floor_seq, synced_through_ms, claim_ms FROM device_sync WHERE device_id = ?", (device_id,)
        ).one() or (0, None, None)
        if _complete(tx, device_id, int(floor), next_record_seq):
            _advance(tx, device_id, int(floor), next_record_seq, created_ms, mark, now)
            tx.execute(
                "UPDATE device_sync SET claim_next_seq = NULL, claim_ms = NULL, claim_at = NULL"
                " WHERE device_id = ? AND claim_next_seq <= ?",
                (device_id, next_record_seq),
            )
            return True
        if claim_ms is None:  # an older claim still waiting is kept: it is satisfied first
            tx.execute(
                "UPDATE device_sync SET claim_next_seq = ?, claim_ms = ?, claim_at = ? WHERE device_id = ?",
                (next_record_seq, created_ms, now, device_id),
            )
    return False


def settle(tx: Tx, device_ids: set[str], now: str) -> list[str]:
    """Inside the transaction that stored records of ``device_ids``: move the watermark of each whose
    waiting claim is now satisfied. Returns those devices."""
    moved: list[str] = []
    for device_id in sorted(device_ids):
        row = tx.execute(
            "SELECT floor_seq, synced_through_ms, claim_next_seq, claim_ms FROM device_sync"
            " WHERE device_id = ? AND claim_next_seq IS NOT NULL",
            (device_id,),
        ).one()
        if row is None:
            continue
        floor, mark, claim_seq, claim_ms = row
        if _complete(tx, device_id, int(floor), int(claim_seq)):
            _advance(tx, device_id, int(floor), int(claim_seq), int(claim_ms), mark, now)
            tx.execute(
                "UPDATE device_sync SET claim_next_seq = NULL, claim_ms = NULL, claim_at = NULL WHERE device_id = ?",
                (device_id,),
            )
            moved.append(device_id)
    return moved


def _complete(tx: Tx, device_id: str, floor: int, next_record_seq: int) -> bool:
    """Whether records floor+1 .. next_record_seq-1 are all stored (and the device is not flagged)."""
    flagged = tx.execute("SELECT sequence_flag FROM devices WHERE id = ?", (device_id,)).scalar()
    if flagged:
        return False
    wanted = next_record_seq - 1 - floor
    if wanted <= 0:
        return True
    have = tx.execute(
        "SELECT count(*) FROM records WHERE device_id = ? AND seq > ? AND seq < ?", (device_id, floor, next_record_seq)
    ).scalar()
    return int(have) == wanted


def _advance(
    tx: Tx, device_id: str, floor: int, next_record_seq: int, created_ms: int, mark: int | None, now: str
) -> None:
    # The floor only grows; the watermark never goes back (a later hello from a clock set back says less).
    moved = mark is None or created_ms > int(mark)
    tx.execute(
        "UPDATE device_sync SET floor_seq = ?, synced_through_ms = ?, synced_at = coalesce(CAST(? AS TEXT), synced_at)"
        " WHERE device_id = ?",
        (max(floor, next_record_seq - 1), created_ms if moved else mark, now if moved else None, device_id),
    )


def device_marks(tx: Tx) -> list[DeviceSync]:
    """Every registered device with its watermark (None when it never proved one)."""
    rows = tx.execute(
        "SELECT d.id, d.site, d.status, s.synced_through_ms, s.synced_at FROM devices d"
        " LEFT JOIN device_sync s ON s.device_id = d.id ORDER BY d.id"
    ).all()
    return [
        DeviceSync(str(i), str(site or ""), status == "active", None if ms is None else int(ms), at)
        for i, site, status, ms, at in rows
    ]


def marks(store: HRStore) -> list[DeviceSync]:
    with store.db.read() as tx:
        return device_marks(tx)


def as_datetime(ms: int | None) -> datetime | None:
    """A watermark as an aware instant (None when absent or beyond what a datetime holds)."""
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
