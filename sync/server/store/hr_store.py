"""The HR store: one database, the server's time zone and clock; opened (and migrated) by URL.

Repositories are modules of functions that take the store (``employees``, ``devices``, ``attendance``,
``tokens``, ``webhook_rows``, ``audit``); the ingest contract lives in ``records`` and is also offered
as methods here, because ingest workers hold a store and call exactly these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import StoreError
from sync.server.store import records
from sync.server.store.database import Database
from sync.server.store.migrations import migrate


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HRStore:
    """The central HR database. ``clock`` returns aware UTC time (tests pass a fixed one)."""

    def __init__(self, db: Database, tz: ZoneInfo, clock: Callable[[], datetime] = _utc_now) -> None:
        self.db = db
        self.tz = tz
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    def now_iso(self) -> str:
        return self.clock().astimezone(UTC).isoformat()

    # --- the ingest contract ------------------------------------------------------------

    def ingest(self, device_id: str, batch: Sequence[Mapping[str, Any]]) -> records.IngestResult:
        return records.ingest(self, device_id, batch)

    def highest_contiguous_seq(self, device_id: str) -> int:
        return records.highest_contiguous_seq(self, device_id)

    def seen_seqs(self, device_id: str, first: int, last: int) -> list[int]:
        return records.seen_seqs(self, device_id, first, last)

    def count_rejection(self, reason: str, device_id: str | None) -> None:
        records.count_rejection(self, reason, device_id)

    def close(self) -> None:
        self.db.close()


def database_url(configured: str, state_dir: Path) -> str:
    """The configured URL, or the SQLite file in the state folder when none is set."""
    return configured or f"sqlite:///{state_dir / 'hr.db'}"


def open_hr_store(url: str, timezone: str = "UTC", clock: Callable[[], datetime] = _utc_now) -> HRStore:
    """Open (creating if needed) and migrate the HR database at ``url``."""
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StoreError(
            f"Unknown time zone {timezone!r} for timesheets.",
            "Set server.timezone to an IANA name such as Asia/Shanghai or Europe/Berlin.",
        ) from exc
    db = Database(url)
    try:
        migrate(db)
    except Exception as exc:  # any driver error: close, then say what to do (re-raised, never swallowed)
        db.close()
        raise StoreError(
            f"Cannot bring the HR database to the current schema: {exc}.",
            "Restore the database from a backup, or point server.database_url at an empty database.",
        ) from exc
    return HRStore(db, tz, clock)
