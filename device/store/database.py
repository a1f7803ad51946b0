"""Open the device database with the settings that make punches durable, and run explicit transactions.

Transactions are explicit (``BEGIN IMMEDIATE`` ... ``COMMIT``): the connection runs in autocommit
mode so nothing is ever committed implicitly halfway through a multi-row write. Inside a transaction
use ``conn.execute`` only: sqlite-utils' table methods commit on their own (sqlite-utils #121).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from device.errors import StoreError
from device.store.migrations import migrate


class Store:
    """One SQLite database file (or memory) with WAL, synchronous=FULL and foreign keys on."""

    def __init__(self, path: Path | None, *, check_same_thread: bool = True) -> None:
        self.path = path
        try:
            if path is None:
                conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=check_same_thread)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    str(path), isolation_level=None, check_same_thread=check_same_thread, timeout=30.0
                )
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a punch is on disk before the employee sees "OK" (WAL+NORMAL can lose the last commits
            # on power loss, and a terminal's power is cut without warning).
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"Cannot open the database {path or ':memory:'}: {exc}.",
                "Check that the state folder exists, is writable and is not on a full disk.",
            ) from exc
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all; nested use joins the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def integrity_ok(self) -> bool:
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    def close(self) -> None:
        self.conn.close()


def open_store(path: Path | None, *, check_same_thread: bool = True) -> Store:
    """Open (creating if needed) and migrate the device database to the current schema."""
    store = Store(path, check_same_thread=check_same_thread)
    try:
        migrate(store)
    except sqlite3.Error as exc:
        store.close()
        raise StoreError(
            f"Cannot bring the database {path} to the current schema: {exc}.",
            "Restore the state folder from a backup or move the file aside to start empty.",
        ) from exc
    return store
