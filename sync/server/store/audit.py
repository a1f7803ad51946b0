"""The server's audit log: who did what to whom, written in the same transaction as the change."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore


def record(tx: Tx, at: str, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    """Append an entry inside the caller's transaction. Never put biometric data in ``detail``."""
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (at, actor, action, subject, json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)),
    )


def entries(store: HRStore, subject: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        if subject is None:
            rows = tx.execute(
                "SELECT id, at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
            ).dicts()
        else:
            rows = tx.execute(
                "SELECT id, at, actor, action, subject, detail FROM audit_log WHERE subject = ?"
                " ORDER BY id DESC LIMIT ?",
                (subject, limit),
            ).dicts()
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows
