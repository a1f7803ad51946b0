"""The device database: opened durable (``core.durable``), migrated, with explicit transactions.

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

from core.durable import open_durable
from core.errors import StoreError
from core.migrations import migrate
from device.store.migrations import MIGRATIONS


class Store:
    """One SQLite database file (or memory) with WAL, synchronous=FULL and foreign keys on."""

    def __init__(self, path: Path | None, *, check_same_thread: bool = True) -> None:
        self.path = path
        self.conn = open_durable(
            path,
            check_same_thread=check_same_thread,
            what="the database",
            fix="Check that the state folder exists, is writable and is not on a full disk.",
        )
        self.db = sqlite_utils.Database(self.conn)
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

    def sealed_rows(self) -> int:
        """Rows sealed with the data key (templates, snapshots, held downlinks): a missing key file with
        any of these is a lost key, never a first use (``core.datakey.load_or_create``)."""
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM face_templates)"
            " + (SELECT count(*) FROM punch_snapshots WHERE key_id IS NOT NULL)"
            " + (SELECT count(*) FROM downlink_held WHERE key_id IS NOT NULL)"
            " + (SELECT count(*) FROM booth_candidate_templates)"
        ).fetchone()
        return int(row[0])

    def integrity_ok(self) -> bool:
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    def close(self) -> None:
        self.conn.close()


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str) -> Iterator[None]:
    """Inside a transaction: undo only what the block wrote if it raises (the exception goes on), so the
    caller can still commit what it writes after the block, e.g. the record of why it failed."""
    if not name.isidentifier():  # a name, never text from outside: it is spliced into the statement
        raise ValueError(f"savepoint name {name!r} is not an identifier")
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        raise
    finally:
        conn.execute(f"RELEASE {name}")


def open_store(path: Path | None, *, check_same_thread: bool = True) -> Store:
    """Open (creating if needed) and migrate the device database to the current schema."""
    store = Store(path, check_same_thread=check_same_thread)
    try:
        migrate(MIGRATIONS, store.transaction)
    except sqlite3.Error as exc:
        store.close()
        raise StoreError(
            f"Cannot bring the database {path} to the current schema: {exc}.",
            "Restore the database from the latest backup; keep this file for analysis (records not yet synced"
            " may be recoverable from it).",
        ) from exc
    return store
