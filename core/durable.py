"""Open a SQLite file with the settings that make records durable (the device store and the HR store)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.errors import StoreError


def open_durable(path: Path | None, *, check_same_thread: bool, what: str, fix: str) -> sqlite3.Connection:
    """An autocommit SQLite connection in WAL mode with FULL sync (the device store and the HR store).

    Autocommit: every write goes through an explicit ``BEGIN IMMEDIATE`` transaction, never Python's
    implicit one. FULL: a record is on disk before anyone is told it is (a punch's "OK" on the device,
    the server's ack to a device); WAL+NORMAL can lose the last commits on power loss, and a terminal's
    power is cut without warning.
    """
    try:
        if path is None:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=check_same_thread)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=check_same_thread, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"Cannot open {what} {path or ':memory:'}: {exc}.", fix) from exc
    return conn
