"""Kiosk PINs (migration 4): only a salted scrypt hash is stored; setting and clearing are audited."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.errors import InputError
from device.store import employees as repo
from device.store import open_store
from device.store.pins import check_format, clear_pin, pin_hash, set_pin

AT = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_pin_is_stored_only_as_a_salted_hash(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db")
    try:
        repo.upsert_employee(store, "E1", "Li Lei", AT, "admin")
        repo.upsert_employee(store, "E2", "Han Meimei", AT, "admin")
        set_pin(store, "E1", "73519", at=AT, actor="admin")
        set_pin(store, "E2", "73519", at=AT, actor="admin")
        one, two = pin_hash(store, "E1"), pin_hash(store, "E2")
        assert one is not None and two is not None
        assert one.matches("73519") and not one.matches("73518") and not one.matches("7351")
        assert one.salt != two.salt and one.hash != two.hash  # same PIN, different salts
        assert (one.n, one.r, one.p) == (2**14, 8, 1)
        audit = store.conn.execute("SELECT action, subject, detail FROM audit_log WHERE action LIKE 'pin.%'").fetchall()
        assert audit == [("pin.set", "E1", "{}"), ("pin.set", "E2", "{}")]
        set_pin(store, "E1", "1111", at=AT, actor="admin")  # replaced, not added
        assert store.conn.execute("SELECT count(*) FROM employee_pins").fetchone()[0] == 2
        assert pin_hash(store, "E1").matches("1111")  # type: ignore[union-attr]
        assert clear_pin(store, "E1", at=AT, actor="admin") and pin_hash(store, "E1") is None
        store.conn.execute("DELETE FROM employees WHERE employee_no = 'E2'")
        assert store.conn.execute("SELECT count(*) FROM employee_pins").fetchone()[0] == 0  # cascade
    finally:
        store.close()
    raw = (tmp_path / "d.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("d.db-*"))
    assert b"73519" not in raw and b"1111" not in raw


def test_pins_are_4_to_8_digits_and_need_an_existing_employee(tmp_path: Path) -> None:
    for bad in ("123", "123456789", "12a4", " 1234", "１２３４"):
        with pytest.raises(InputError, match="4 to 8 digits"):
            check_format(bad)
    store = open_store(tmp_path / "d.db")
    try:
        with pytest.raises(InputError, match="does not exist"):
            set_pin(store, "E9", "1234", at=AT, actor="admin")
        assert store.conn.execute("SELECT count(*) FROM audit_log WHERE action = 'pin.set'").fetchone()[0] == 0
    finally:
        store.close()


def test_pin_command_reads_the_pin_from_stdin_never_from_the_arguments(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "device.toml"
    config.write_text(f'[device]\nid = "gate-1"\nstate_dir = "{tmp_path / "state"}"\n')
    store = open_store(tmp_path / "state" / "device.db")
    repo.upsert_employee(store, "E1", "Li Lei", AT, "admin")
    store.close()
    env_root = str(Path(__file__).resolve().parents[1])
    command = [sys.executable, "-m", "cli.main", "device", "pin"]
    done = subprocess.run([*command, "set", "--config", str(config), "--employee", "E1"], input="8642\n",
                          capture_output=True, text=True, timeout=120, cwd=env_root, check=False)
    assert done.returncode == 0, done.stderr
    assert "PIN set for employee E1" in done.stdout
    store = open_store(tmp_path / "state" / "device.db")
    try:
        assert pin_hash(store, "E1").matches("8642")  # type: ignore[union-attr]
    finally:
        store.close()
    bad = subprocess.run([*command, "set", "--config", str(config), "--employee", "E1"], input="12\n",
                         capture_output=True, text=True, timeout=120, cwd=env_root, check=False)
    assert bad.returncode == 1 and "4 to 8 digits" in bad.stderr + bad.stdout
    cleared = subprocess.run([*command, "clear", "--config", str(config), "--employee", "E1"],
                             capture_output=True, text=True, timeout=120, cwd=env_root, check=False)
    assert cleared.returncode == 0 and "PIN removed" in cleared.stdout
