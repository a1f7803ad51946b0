"""Open a SQLite file with the settings that make records durable (the device store and the HR store).

Both files hold personal data (punches, face templates, PIN hashes, webhook secrets), so they are
private like the keys: created 0600 (SQLite gives its -wal and -shm files the database's mode) in a
folder created 0700, and a file that other users can read is refused at start with the command that
fixes it. A database that exists is never recreated: an empty (truncated) or damaged file, or one that
cannot be written, stops with what is wrong and what to do, never with a raw sqlite3 traceback and never
by silently starting an empty database over records that were lost.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.errors import StoreError

#: SQLite primary result codes (``sqlite_errorcode & 0xFF``) that mean the file itself is the problem.
_PERM, _READONLY, _CORRUPT, _CANTOPEN, _NOTADB = 3, 8, 11, 14, 26
#: Suffixes of the files SQLite keeps beside a database in WAL mode.
SIDE_FILES = ("-wal", "-shm")


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def damaged(path: Path | str, what: str, detail: str) -> StoreError:
    return StoreError(
        f"{_upper(what)} {path} is damaged ({detail}); edgehr stopped before reading or writing anything more.",
        f"Stop edgehr, move {path} (with any -wal/-shm files beside it) aside and restore it from the latest "
        "backup. Keep the damaged copy: records not yet synced may still be recovered from it with "
        f"`sqlite3 {path} .recover`. Never delete it to start empty: that loses every record in it.",
        code="store-damaged",
    )


def read_only(path: Path | str, what: str, detail: str) -> StoreError:
    return StoreError(
        f"{_upper(what)} {path} cannot be written ({detail}).",
        f"Make {path}, its folder and any -wal/-shm files beside it writable by the user edgehr runs as "
        "(and check that the disk is not mounted read-only or failing), then run the command again.",
        code="store-read-only",
    )


def translate(exc: sqlite3.Error, path: Path | str, what: str) -> StoreError | None:
    """The people-readable error for a database that is damaged or cannot be written, else None.

    Other errors (a constraint, a busy lock, a full disk) stay sqlite3 errors: their callers handle
    them where they happen (a punch not stored is shown as such and may be retried)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    if primary in (_CORRUPT, _NOTADB):
        return damaged(path, what, str(exc))
    if primary in (_READONLY, _PERM, _CANTOPEN):
        return read_only(path, what, str(exc))
    return None


class DurableCursor(sqlite3.Cursor):
    """A cursor whose damaged-file and read-only errors become :class:`StoreError` (see :func:`translate`).

    Corruption may surface at any step, also while rows are fetched, so every step is covered."""

    def _fail(self, exc: sqlite3.Error) -> StoreError | sqlite3.Error:
        conn = self.connection
        if isinstance(conn, DurableConnection):
            return translate(exc, conn.durable_path, conn.durable_what) or exc
        return exc

    def execute(self, sql: str, parameters: Any = (), /) -> DurableCursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> DurableCursor:
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(sql_script)
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        try:
            return super().fetchmany(size)
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            raise self._fail(exc) from exc


class DurableConnection(sqlite3.Connection):
    """A connection whose statements run on :class:`DurableCursor` (``Connection.execute`` in C would
    otherwise build a plain cursor)."""

    durable_path: Path | str = ":memory:"
    durable_what: str = "the database"

    def execute(self, sql: str, parameters: Any = (), /) -> DurableCursor:
        return self.cursor(DurableCursor).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> DurableCursor:
        return self.cursor(DurableCursor).executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        return self.cursor(DurableCursor).executescript(sql_script)


def check_private(path: Path, what: str) -> None:
    """Refuse a database (or its -wal/-shm file) that other users may read, like the key files."""
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SIDE_FILES)):
        try:
            mode = file.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            raise StoreError(
                f"{_upper(what)} {file} is open to other users (mode {mode:o}); it holds personal data.",
                f"Run: chmod 600 {' '.join(str(f) for f in _family(path))}; chmod 700 {path.parent}",
                code="store-not-private",
            )


def _family(path: Path) -> list[Path]:
    return [f for f in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)) if f.exists()]


def _create(path: Path) -> None:
    """Create a new, empty WAL database at ``path`` with mode 0600, all at once.

    Built under a temporary name and linked into place, so ``path`` never exists as a zero-length file:
    a zero-length database therefore always means one that was truncated, and is refused, never
    silently filled with an empty schema. Two processes creating it at once: the first link wins."""
    missing = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    for folder in reversed(missing):  # every folder made here is private, not only the last one
        folder.mkdir(mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.new-", dir=path.parent)  # mkstemp: mode 0600
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            # Writes the header (page 1) so the file is a complete, valid database before it is linked.
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        for leftover in (tmp, *(tmp + suffix for suffix in SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _connect(path: Path, *, check_same_thread: bool, what: str) -> DurableConnection:
    if not path.exists():
        _create(path)
    elif path.is_file() and path.stat().st_size == 0:
        raise StoreError(
            f"{_upper(what)} {path} is empty (0 bytes): it was truncated (a failed copy or restore, a full "
            "disk) and the records it held are not in it. edgehr creates databases whole, never empty.",
            f"Restore {path} from the latest backup. Only on a new installation with nothing to keep, delete "
            "it and run the command again: edgehr never starts an empty database over one that existed.",
            code="store-damaged",
        )
    check_private(path, what)
    # mode=rw: SQLite must open the existing file and never create one (a database that vanished
    # between the check above and here is an error, not a fresh start).
    conn = sqlite3.connect(
        f"file:{quote(str(path))}?mode=rw",
        uri=True,
        isolation_level=None,
        check_same_thread=check_same_thread,
        timeout=30.0,
        factory=DurableConnection,
    )
    conn.durable_path, conn.durable_what = path, what
    return conn


def open_durable(path: Path | None, *, check_same_thread: bool, what: str, fix: str) -> sqlite3.Connection:
    """An autocommit SQLite connection in WAL mode with FULL sync (the device store and the HR store).

    Autocommit: every write goes through an explicit ``BEGIN IMMEDIATE`` transaction, never Python's
    implicit one. FULL: a record is on disk before anyone is told it is (a punch's "OK" on the device,
    the server's ack to a device); WAL+NORMAL can lose the last commits on power loss, and a terminal's
    power is cut without warning.
    """
    try:
        if path is None:
            conn: sqlite3.Connection = sqlite3.connect(
                ":memory:", isolation_level=None, check_same_thread=check_same_thread, factory=DurableConnection
            )
        else:
            conn = _connect(path, check_same_thread=check_same_thread, what=what)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            # Reads the schema: a file whose first page is damaged fails here, before any command runs.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
    except sqlite3.Error as exc:
        plain = StoreError(f"Cannot open {what} {path or ':memory:'}: {exc}.", fix)
        raise (translate(exc, path or ":memory:", what) or plain) from exc
    except OSError as exc:
        raise StoreError(f"Cannot open {what} {path or ':memory:'}: {exc}.", fix) from exc
    return conn
