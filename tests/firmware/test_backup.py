"""Backups: the device's SQLite copied while a writer writes, restored with every row; the HR server's
PostgreSQL dumped by ops/server/edgehr-backup-db and restored with pg_restore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import backup
from tests.firmware.tools import require

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS punches (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
for i in range(1, int(sys.argv[2]) + 1):
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO punches (id, body) VALUES (?, ?)", (i, "x" * 200))
    db.execute("COMMIT")
    if i == 50:
        open(sys.argv[3], "w").close()  # started: the test may back up now
db.close()
"""


def ids(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM punches ORDER BY id")]


def test_backup_while_writing_then_restore_finds_every_row(tmp_path: Path) -> None:
    db, out, started = tmp_path / "device.db", tmp_path / "backups", tmp_path / "started"
    rows = 3000
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(rows), str(started)])
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert writer.poll() is None and time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.01)
        during = []
        while writer.poll() is None and len(during) < 5:
            during.append(backup.backup(db, out, keep=10))
        assert writer.wait(timeout=120) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=10)
    assert during, "no backup was taken while the writer ran"
    for result in during:
        got = ids(result.path)
        # A consistent snapshot: every punch up to some point, nothing missing in between.
        assert got == list(range(1, len(got) + 1)) and len(got) >= 50
        assert oct(result.path.stat().st_mode & 0o777) == "0o600"
    assert any(len(ids(r.path)) < rows for r in during), "the writer finished before a backup could overlap it"

    final = backup.backup(db, out, keep=3)
    assert len(backup.list_backups(out, "device")) == 3  # rotation kept the newest three
    restored = tmp_path / "restored.db"
    backup.restore(final.path, restored)
    assert ids(restored) == list(range(1, rows + 1))

    # Restoring over a database that has a WAL of its own: SQLite replaces it, nothing of the old survives.
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE punches (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO punches VALUES (999999, 'old')")
    conn.close()
    assert main_cli(["restore", "--from", str(final.path), "--db", str(other)]) == 0
    assert ids(other) == list(range(1, rows + 1))


def main_cli(argv: list[str]) -> int:
    return subprocess.run([sys.executable, "-m", "core.backup", *argv], cwd=REPO, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)}).returncode


def test_backup_refuses_a_missing_database_and_a_damaged_backup(tmp_path: Path) -> None:
    assert main_cli(["backup", "--db", str(tmp_path / "nope.db"), "--out", str(tmp_path / "b")]) == 1
    damaged = tmp_path / "device-20250101T000000Z.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(backup.EdgehrError):
        backup.restore(damaged, tmp_path / "target.db")


def test_the_edgehr_command_backs_up_and_lists(tmp_path: Path) -> None:
    db = tmp_path / "device.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE punches (id INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO punches VALUES (7)")
    conn.commit()
    conn.close()
    edgehr = [sys.executable, "-m", "cli.main", "backup"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    made = subprocess.run([*edgehr, "backup", "--db", str(db), "--out", str(tmp_path / "b")], cwd=REPO, timeout=120,
                          check=True, env=env, capture_output=True, text=True)
    listed = subprocess.run([*edgehr, "list", "--out", str(tmp_path / "b")], cwd=REPO, timeout=120, check=True,
                            env=env, capture_output=True, text=True)
    copy = Path(listed.stdout.split("\t")[0])
    assert copy.parent == tmp_path / "b" and str(copy) in made.stdout
    assert ids(copy) == [7]


def test_pg_dump_backup_restores_every_row(pg_server: str, tmp_path: Path) -> None:
    require("pg_dump")
    pg_restore = require("pg_restore")
    import psycopg
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS hr_live")
        conn.execute("DROP DATABASE IF EXISTS hr_restored")
        conn.execute("CREATE DATABASE hr_live")
        conn.execute("CREATE DATABASE hr_restored")
    with psycopg.connect(f"{pg_server}/hr_live", autocommit=True) as conn:
        conn.execute("CREATE TABLE punches (device text, seq bigint, body text, PRIMARY KEY (device, seq))")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO punches VALUES (%s, %s, %s)",
                            [(f"dev-{n % 7}", n, "y" * 50) for n in range(5000)])
    out = tmp_path / "pg-backups"
    script = REPO / "ops" / "server" / "edgehr-backup-db"
    result = subprocess.run([str(script), "--out", str(out), "--keep", "2", "--url", f"{pg_server}/hr_live"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    dumps = sorted(out.glob("hr-*.dump"))
    assert len(dumps) == 1 and oct(dumps[0].stat().st_mode & 0o777) == "0o600"
    restore = subprocess.run([pg_restore, "--no-owner", f"--dbname={pg_server}/hr_restored", str(dumps[0])],
                             capture_output=True, text=True, timeout=300, check=False)
    assert restore.returncode == 0, restore.stderr
    with psycopg.connect(f"{pg_server}/hr_restored") as conn:
        got = conn.execute("SELECT count(*), count(DISTINCT (device, seq)), min(seq), max(seq) FROM punches").fetchone()
    assert got == (5000, 5000, 0, 4999)
