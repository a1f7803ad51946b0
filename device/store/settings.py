"""The device's own small durable values (``settings``: text by key), such as the reserved envelope sequence."""

from __future__ import annotations

import sqlite3

from device.store.database import Store


def get(store: Store, key: str) -> str | None:
    row = store.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Set ``key`` inside the caller's transaction, replacing any value it had."""
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
