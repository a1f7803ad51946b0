"""A lost data key is refused while sealed rows exist: a new key beside them would break every gallery."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.datakey import load_or_create
from core.errors import StoreError
from device.store import employees as repo
from device.store import open_store
from sync.server.store import employees as hr_employees
from sync.server.store import open_hr_store
from sync.server.store import templates as hr_templates

AT = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
MODEL = "test-embedder"


def _vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(16).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_faces_enrol_refuses_to_make_a_new_key_while_templates_exist(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "device.toml"
    config.write_text(f'[device]\nid = "gate-1"\nstate_dir = "{state}"\n')
    key_path = state / "keys" / "data.key"
    store = open_store(state / "device.db")
    try:
        key = load_or_create(key_path, sealed_rows=store.sealed_rows)
        repo.upsert_employee(store, "E1", "Li Lei", AT, "admin")
        repo.record_consent(store, "E1", purpose="face-attendance", text_version="v1", recorded_by="admin", at=AT)
        repo.replace_templates(store, key, "E1", [_vector(1)], model=MODEL, source="enrol", at=AT, actor="admin")
    finally:
        store.close()
    key_path.unlink()  # a restore that forgot keys/, a deleted file
    photos = tmp_path / "photos" / "E2"
    photos.mkdir(parents=True)
    (photos / "one.jpg").write_bytes(b"not looked at: the key is checked first")

    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "faces", "enrol", "--config", str(config),
         "--root", str(tmp_path / "photos"), "--consent-version", "v1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"The data key {key_path} is missing" in done.stderr
    assert "1 row(s) sealed" in done.stderr and "Restore" in done.stderr
    assert not key_path.exists()  # nothing created: the old templates' key can still be restored

    store = open_store(state / "device.db")
    try:
        assert store.sealed_rows() == 1
        with pytest.raises(StoreError, match="is missing"):
            load_or_create(key_path, sealed_rows=store.sealed_rows)
        assert not key_path.exists()
    finally:
        store.close()


def test_a_first_key_is_still_made_when_nothing_is_sealed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state" / "device.db")
    try:
        assert store.sealed_rows() == 0
        path = tmp_path / "state" / "keys" / "data.key"
        key = load_or_create(path, sealed_rows=store.sealed_rows)
        assert load_or_create(path, sealed_rows=store.sealed_rows).key_id == key.key_id
    finally:
        store.close()


def test_the_server_refuses_a_new_data_key_while_templates_are_stored(tmp_path: Path) -> None:
    server_state = tmp_path / "server"
    store = open_hr_store(f"sqlite:///{server_state / 'hr.db'}", "Asia/Shanghai")
    try:
        key = hr_templates.load_data_key(server_state, store)
        for number in ("E1", "E2"):
            hr_employees.create(store, number, "Li Lei", "admin")
        with store.db.transaction() as tx:
            hr_templates.replace(tx, key, "E1", MODEL, [_vector(1), _vector(2)], "2024-03-01T09:00:00+00:00")
        hr_templates.data_key_path(server_state).unlink()

        with pytest.raises(StoreError, match=r"missing, but the database holds 2 row\(s\)"):
            hr_templates.load_data_key(server_state, store)
        assert not hr_templates.data_key_path(server_state).exists()

        # A process that made a key without asking the store (an older API path) still cannot mix keys.
        stray = hr_templates.load_data_key(server_state)
        with pytest.raises(StoreError, match="lost or replaced") as info, store.db.transaction() as tx:
            hr_templates.replace(tx, stray, "E2", MODEL, [_vector(3)], "2024-03-01T09:00:00+00:00")
        assert info.value.code == "data-key-mismatch"
        assert hr_templates.counts(store, "E2") == {}
    finally:
        store.close()
