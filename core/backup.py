"""Online backups of an SQLite database (a device's ``device.db``, a server's ``hr.db``) and their restore.

``backup`` copies the database with SQLite's online backup API in one step: in WAL mode that is one
read transaction, so it sees a consistent snapshot while the kiosk and the courier go on writing (a
reader never blocks a writer there). The copy is written beside its final name, checked with
``PRAGMA integrity_check``, made durable (fsync) and only then renamed into place, mode 0600; the oldest
copies beyond ``keep`` are deleted. A copy is a plain rollback-journal database that opens on its own.

``restore`` writes a copy back through the same API into the target database, so SQLite itself replaces
every page and deals with the target's WAL (copying the file over a database that still has a ``-wal``
beside it would corrupt it). Stop the service that writes the database first.

Command line (used by the systemd timers in firmware_scripts/ and ops/server/)::

    python -m core.backup backup  --db /var/lib/edgehr/device.db --out /var/lib/edgehr/backups [--keep 14]
    python -m core.backup restore --from /var/lib/edgehr/backups/device-20250101T020000Z.db \
                                  --db /var/lib/edgehr/device.db
    python -m core.backup list    --out /var/lib/edgehr/backups
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import EdgehrError

#: How long a backup or restore waits for a lock held by a writer before it gives up (seconds).
BUSY_TIMEOUT_SECONDS = 30.0
_STAMP = "%Y%m%dT%H%M%SZ"


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="backup")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    seconds: float
    removed: list[Path]


def _name_pattern(stem: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(stem)}-\d{{8}}T\d{{6}}Z(?:-\d+)?\.db$")


def list_backups(out_dir: Path, stem: str | None = None) -> list[Path]:
    """Finished backups in ``out_dir`` (of database ``stem``, or all), oldest first."""
    if not out_dir.is_dir():
        return []
    found = []
    for path in out_dir.iterdir():
        name_stem = path.name.split("-", 1)[0]
        if (stem is None or name_stem == stem) and _name_pattern(name_stem).match(path.name):
            found.append(path)
    return sorted(found, key=lambda p: p.name)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return conn


def _check(conn: sqlite3.Connection, what: Path) -> None:
    rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
    if rows != ["ok"]:
        raise _error(f"{what} failed SQLite's integrity check: {'; '.join(map(str, rows[:5]))}.",
                     "Keep the file for inspection; take a new backup, or restore an older one.")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(db: Path, out_dir: Path, *, keep: int = 14, now: Callable[[], datetime] | None = None) -> BackupResult:
    """Copy ``db`` into ``out_dir`` as ``<stem>-<UTC time>.db`` (mode 0600) and keep the newest ``keep``."""
    if keep < 1:
        raise _error(f"keep is {keep}; at least the backup just made must be kept.", "Pass --keep 1 or more.")
    if not db.is_file():
        raise _error(f"There is no database at {db}.", "Pass the database file with --db (e.g. <state_dir>/device.db).")
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = (now or (lambda: datetime.now(UTC)))().strftime(_STAMP)
    target = out_dir / f"{db.stem}-{stamp}.db"
    n = 1
    while target.exists():  # two backups within one second (a timer and a manual run)
        n += 1
        target = out_dir / f"{db.stem}-{stamp}-{n}.db"
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # Created 0600 before SQLite writes a byte into it: a backup holds what the database holds.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        source = _connect(db)
        try:
            copy = _connect(partial)
            try:
                source.backup(copy)  # pages=-1: one step, one consistent snapshot
                copy.execute("PRAGMA journal_mode = DELETE")
                _check(copy, partial)
            finally:
                copy.close()
        finally:
            source.close()
        _fsync(partial)
        os.replace(partial, target)
        _fsync(out_dir)
    except sqlite3.Error as exc:
        raise _error(f"Backing up {db} failed: {exc}.",
                     "Check that the disk has room and that no process holds a long write lock; "
                     "then try again.") from None
    finally:
        partial.unlink(missing_ok=True)
    removed = []
    for old in list_backups(out_dir, db.stem)[:-keep]:
        old.unlink(missing_ok=True)
        removed.append(old)
    return BackupResult(target, target.stat().st_size, time.monotonic() - started, removed)


def restore(source: Path, db: Path) -> None:
    """Write backup ``source`` into database ``db`` (made if missing); the service must be stopped."""
    if not source.is_file():
        raise _error(f"There is no backup at {source}.",
                     "List the backups with `python -m core.backup list --out DIR`.")
    try:
        backup_conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            _check(backup_conn, source)
            if not db.exists():
                os.close(os.open(db, os.O_WRONLY | os.O_CREAT, 0o600))
            target = _connect(db)
            try:
                backup_conn.backup(target)
                _check(target, db)
            finally:
                target.close()
        finally:
            backup_conn.close()
    except sqlite3.Error as exc:
        raise _error(f"Restoring {source} into {db} failed: {exc}.",
                     "Stop the service that uses the database (systemctl stop ...) and try again.") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m core.backup``: back up, restore or list SQLite backups."""
    parser = argparse.ArgumentParser(prog="python -m core.backup", description=main.__doc__)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    make = sub.add_parser("backup", help="copy a live database into a backup folder")
    make.add_argument("--db", type=Path, required=True, help="the database file, e.g. /var/lib/edgehr/device.db")
    make.add_argument("--out", type=Path, required=True, help="backup folder (made 0700 if missing)")
    make.add_argument("--keep", type=int, default=14, help="how many backups of this database to keep (default 14)")
    back = sub.add_parser("restore", help="write a backup into a database (stop its service first)")
    back.add_argument("--from", dest="source", type=Path, required=True, help="a backup file")
    back.add_argument("--db", type=Path, required=True, help="the database file to restore into")
    show = sub.add_parser("list", help="list the backups in a folder, oldest first")
    show.add_argument("--out", type=Path, required=True, help="backup folder")
    args = parser.parse_args(argv)
    try:
        if args.action == "backup":
            result = backup(args.db, args.out, keep=args.keep)
            print(f"backup {result.path} ({result.bytes} bytes, {result.seconds:.1f} s); "
                  f"removed {len(result.removed)} old backup(s)")
        elif args.action == "restore":
            restore(args.source, args.db)
            print(f"restored {args.source} into {args.db}")
        else:
            for path in list_backups(args.out):
                with contextlib.suppress(OSError):
                    print(f"{path}\t{path.stat().st_size}")
    except EdgehrError as exc:
        print(f"backup: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
