"""The audit log: who did what to whom, written in the same transaction as the change itself."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from device.store.database import Store


def record(
    conn: sqlite3.Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an entry inside the caller's transaction. Never put biometric data in ``detail``."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (at.isoformat(), actor, action, subject, json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)),
    )


#: Entries per page of the panel's audit log.
PAGE_SIZE = 50


def page(store: Store, number: int) -> tuple[list[dict[str, str]], int]:
    """(entries of page ``number``, newest first, as at/actor/action/subject/detail text; the total count)."""
    total = int(store.conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    rows = store.conn.execute(
        "SELECT at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?",
        (PAGE_SIZE, max(0, number) * PAGE_SIZE),
    ).fetchall()
    keys = ("at", "actor", "action", "subject", "detail")
    return [dict(zip(keys, (str(v) for v in row), strict=True)) for row in rows], total
