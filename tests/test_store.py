from __future__ import annotations

import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.datakey import load_or_create
from core.errors import InputError, StoreError
from device.store import employees, open_store, outbox, punches
from device.store.migrations import MIGRATIONS
from sync.protocol import body_dict
from tests.factories import punch

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_file_store_is_wal_full_and_migrated(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    versions = [r[0] for r in store.conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m[0] for m in MIGRATIONS]
    for table in (
        "employees",
        "face_templates",
        "punches",
        "interview_sessions",
        "interview_answers",
        "outbox",
        "audit_log",
        "consents",
    ):
        assert table in store.db.table_names()
    store.close()
    again = open_store(tmp_path / "d.db")  # reopening applies nothing twice
    assert again.conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    again.close()


def test_punch_and_outbox_row_commit_together() -> None:
    store = open_store(None)
    stored = punches.record_punch(store, punch(), "gate-1")
    rows = outbox.pending(store, 10)
    assert [(r.seq, r.type, r.ref) for r in rows] == [(stored.seq, "punch", stored.uid)]
    assert rows[0].body["employee_no"] == "E001" and rows[0].body["device_id"] == "gate-1"
    outbox.mark_delivered(store, [stored.seq], at_ms=1)
    assert outbox.backlog(store) == 0


def test_failed_outbox_write_rolls_back_the_punch() -> None:
    store = open_store(None)
    # Make the outbox insert fail after the punch insert has run inside the same transaction.
    store.conn.execute("CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(Exception, match="disk full"):
        punches.record_punch(store, punch(), "gate-1")
    assert store.conn.execute("SELECT count(*) FROM punches").fetchone()[0] == 0
    assert not store.conn.in_transaction


def test_a_punch_the_protocol_cannot_carry_is_refused_before_anything_is_written() -> None:
    store = open_store(None)
    with pytest.raises(StoreError, match="source"):
        punches.record_punch(store, replace(punch(), source="Face!"), "gate-1")  # not a protocol source label
    assert store.conn.execute("SELECT count(*) FROM punches").fetchone()[0] == 0 and outbox.backlog(store) == 0
    made = punch()
    punches.record_punch(store, made, "gate-1")
    # The outbox keeps the one body the punch travels under.
    assert outbox.pending(store, 10)[0].body == body_dict(punches.punch_body(made, "gate-1"))


def test_the_kiosk_history_reads_the_latest_recorded_and_todays_last_punch() -> None:
    store = open_store(None)
    employees.upsert_employee(store, "E001", "Li Lei", NOW, "admin")
    punches.record_punch(store, replace(punch(at_ms=2_000), work_day="2026-11-23"), "g")
    punches.record_punch(store, replace(punch(direction="out", at_ms=1_000), work_day="2026-11-23"), "g")
    # By row: the punch just made (a clock corrected backwards); by time: the later one of the day.
    assert punches.latest_punch(store, "E001") == ("out", 1_000, "2026-11-23")
    assert punches.last_punch(store, "E001", "2026-11-23") == ("in", 2_000)
    assert punches.last_punch(store, "E001", "2026-11-24") is None and punches.latest_punch(store, "E9") is None
    assert employees.name_of(store, "E001") == "Li Lei" and employees.name_of(store, "E9") is None


def test_sequence_numbers_are_never_reused(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db")
    first = punches.record_punch(store, punch(), "g").seq
    store.conn.execute("DELETE FROM outbox")
    assert punches.record_punch(store, punch(), "g").seq == first + 1


def test_templates_are_encrypted_and_bound_to_their_owner(tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db")
    key = load_or_create(tmp_path / "keys" / "data.key")
    assert stat.S_IMODE((tmp_path / "keys" / "data.key").stat().st_mode) == 0o600
    employees.upsert_employee(store, "E001", "Li Lei", NOW, "admin")
    employees.upsert_employee(store, "E002", "Han Meimei", NOW, "admin")
    vector = np.linspace(-1, 1, 128, dtype=np.float32)
    with pytest.raises(InputError, match="consent"):
        employees.replace_templates(store, key, "E001", [vector], model="m", source="photo", at=NOW, actor="a")
    employees.record_consent(store, "E001", purpose="face-attendance", text_version="v1", recorded_by="a", at=NOW)
    employees.replace_templates(store, key, "E001", [vector, vector], model="m", source="photo", at=NOW, actor="a")
    blob = store.conn.execute("SELECT ciphertext FROM face_templates LIMIT 1").fetchone()[0]
    assert vector.tobytes() not in blob
    loaded = employees.load_templates(store, key, "m")
    assert len(loaded) == 2 and np.array_equal(loaded[0].vector, vector)
    # A ciphertext moved onto another employee must not decrypt as theirs.
    store.conn.execute("UPDATE face_templates SET employee_id = (SELECT id FROM employees WHERE employee_no='E002')")
    with pytest.raises(StoreError, match="integrity"):
        employees.load_templates(store, key, "m")
    assert employees.delete_templates(store, "E002", at=NOW, actor="a", reason="test") == 2
    actions = [r[0] for r in store.conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-1] == "face.delete" and "face.enrol" in actions


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.key"
    load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        load_or_create(path)


def test_unwritable_location_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="state folder"):
        open_store(blocker / "d.db")


def test_processes_creating_the_key_together_all_get_the_same_whole_key(tmp_path: Path) -> None:
    # Two ingest workers start at once and both open the server's data key: none may read a half-written file.
    import subprocess
    import sys

    path = tmp_path / "keys" / "data.key"
    code = (
        "import sys; from pathlib import Path; from core.datakey import load_or_create; "
        "print(load_or_create(Path(sys.argv[1])).key_id)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True) for _ in range(8)
    ]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(ids) == 1 and ids == {load_or_create(path).key_id}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["data.key"]
