"""One runner for ordered schema migrations, used by the device store and the HR store alike.

Never edit a migration that has shipped: add a new one. Each runs in its own transaction together with
the row that records it, so a killed process leaves either the old or the new schema, never half.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

#: (version, name, SQL script).
Migration = tuple[int, str, str]


class MigrationTx(Protocol):
    """What the runner needs of a transaction: ``sqlite3.Connection`` and the HR store's ``Tx`` both fit."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...


def _no_lock(tx: MigrationTx) -> None:
    """SQLite's BEGIN IMMEDIATE already keeps other writers out."""


def _same(script: str) -> str:
    return script


def migrate(
    migrations: Sequence[Migration],
    transaction: Callable[[], AbstractContextManager[Any]],
    *,
    lock: Callable[[Any], None] = _no_lock,
    ddl: Callable[[str], str] = _same,
) -> int:
    """Apply every migration newer than the database's version; return the resulting version.

    ``lock`` runs first in every transaction (PostgreSQL's advisory lock, so one of several workers
    starting at once migrates while the others wait); ``ddl`` adapts a script to the engine's dialect.
    """
    with transaction() as tx:
        lock(tx)
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at_ms BIGINT NOT NULL)"
        )
    version = 0
    for number, name, script in migrations:
        with transaction() as tx:
            lock(tx)
            version = int(tx.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])
            if number <= version:
                continue
            for statement in statements(ddl(script)):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
                (number, name, int(time.time() * 1000)),
            )
            version = number
    return version


def statements(script: str) -> list[str]:
    """A script's statements one by one: ``executescript`` would COMMIT first, outside our transaction."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
