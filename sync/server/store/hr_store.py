"""The HR store: one database, the server's time zone and clock; opened (and migrated) by URL.

Repositories are modules of functions that take the store (``employees``, ``devices``, ``attendance``,
``records``, ``webhook_rows``, ``audit``...). The store is only the handle they share, so it imports no
repository: each of them names ``HRStore`` in its signatures, and a store that called back into one
(as ``HRStore.ingest`` used to call ``records``) would close an import circle through all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import StoreError
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
