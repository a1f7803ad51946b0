"""The audit log: who did what to whom, written in the same transaction as the change itself."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any


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
