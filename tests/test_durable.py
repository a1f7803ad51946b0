"""The durable SQLite files (device.db, hr.db): private, never recreated, damaged files explained."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.durable import open_durable
from core.errors import StoreError
from device.store import employees as repo
from device.store import open_store

AT = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def _site(tmp_path: Path, employees: int = 200) -> tuple[Path, Path]:
    """A device config and its database holding ``employees`` people, checkpointed into the main file."""
    config = tmp_path / "device.toml"
    config.write_text(f'[device]\nid = "gate-1"\nstate_dir = "{tmp_path / "state"}"\n')
    database = tmp_path / "state" / "device.db"
    store = open_store(database)
    for number in range(employees):
        repo.upsert_employee(store, f"E{number}", "Li Lei " * 20, AT, "admin")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return config, database


def _pin_clear(config: Path) -> subprocess.CompletedProcess[str]:
    """The real command, as a site admin runs it."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "device", "pin", "clear", "--config", str(config), "--employee", "E1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def _root_page(database: Path, table: str) -> int:
    conn = sqlite3.connect(database)
    try:
        return int(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0])
    finally:
        conn.close()


def _spoil_page(database: Path, page: int) -> None:
    size = 4096
    with database.open("r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(b"\xa5" * size)


@pytest.mark.parametrize("page", ["first", "employee_pins"])
def test_a_damaged_page_says_restore_from_backup_not_a_traceback(tmp_path: Path, page: str) -> None:
    config, database = _site(tmp_path)
    _spoil_page(database, 1 if page == "first" else _root_page(database, page))
    done = _pin_clear(config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"The database {database} is damaged" in done.stderr
    assert "restore it from the latest backup" in done.stderr


def test_a_zero_length_database_is_refused_never_recreated_empty(tmp_path: Path) -> None:
    config, database = _site(tmp_path, employees=1)
    database.write_bytes(b"")  # truncated: a failed restore, a full disk
    done = _pin_clear(config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"The database {database} is empty (0 bytes)" in done.stderr
    assert "Restore" in done.stderr
    assert database.stat().st_size == 0  # left as found, for the operator to restore


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable, also for root (the immutable flag), or skip where that is impossible."""
    if os.geteuid() != 0:
        path.chmod(0o400)
        yield
        path.chmod(0o600)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False).returncode:
        pytest.skip("running as root without chattr +i: cannot make a file read-only")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_a_read_only_database_says_make_it_writable(tmp_path: Path) -> None:
    config, database = _site(tmp_path, employees=1)
    with _read_only(database):
        done = _pin_clear(config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"The database {database} cannot be written" in done.stderr
    assert "writable by the user edgehr runs as" in done.stderr


def test_databases_are_private_files_in_private_folders(tmp_path: Path) -> None:
    database = tmp_path / "state" / "nested" / "device.db"
    store = open_store(database)
    try:
        repo.upsert_employee(store, "E1", "Li Lei", AT, "admin")  # the -wal and -shm files now exist
        for file in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    finally:
        store.close()


@pytest.mark.parametrize("which", ["", "-wal"])
def test_a_database_other_users_can_read_is_refused_like_the_keys(tmp_path: Path, which: str) -> None:
    database = tmp_path / "hr.db"
    conn = open_durable(database, check_same_thread=True, what="the HR database", fix="")
    conn.execute("CREATE TABLE t (x)")
    try:
        Path(f"{database}{which}").chmod(0o644)
        with pytest.raises(StoreError, match=r"open to other users \(mode 644\)") as info:
            open_durable(database, check_same_thread=True, what="the HR database", fix="")
        assert f"chmod 600 {database}" in info.value.fix
    finally:
        conn.close()
