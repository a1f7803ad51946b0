"""Consent withdrawal on a real device store with real encrypted punch snapshots and a real gallery: one
transaction marks the consent withdrawn, deletes templates and snapshot rows, audits it and queues the
record for the HR server; files go after the commit; enrolment is refused until consent is recorded again."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.clock import FakeClock
from core.datakey import DataKey, load_or_create
from core.errors import InputError
from device.attendance.enrolment import PURPOSE, roster, withdraw_consent
from device.courier.records import to_record
from device.store import Store, open_store, outbox
from device.store import employees as repo
from device.store.punches import record_punch
from device.store.snapshots import SnapshotStore
from device.vision.gallery import Gallery
from sync.protocol.records import EnrolmentRecord
from tests.attendance.real_vision import CELEB
from tests.factories import punch

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = "m1"
ACTOR = "panel:admin@192.168.1.20"


def vectors(seed: int, n: int = 3) -> list[np.ndarray]:
    rows = np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)
    return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))


class Device:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.clock = FakeClock(NOW)
        self.store: Store = open_store(state / "device.db")
        self.key: DataKey = load_or_create(state / "keys" / "data.key")
        self.snaps = SnapshotStore(self.store, self.key, state / "snapshots", self.clock, retention_days=7)
        self.gallery = Gallery(threshold=0.5, margin=0.05)
        image = cv2.imread(str(CELEB / "img1.jpg"), cv2.IMREAD_COLOR)
        assert image is not None
        self.image = np.ascontiguousarray(image)

    def enrol(self, no: str, seed: int, punches: int) -> list[Path]:
        repo.upsert_employee(self.store, no, f"name {no}", NOW, "admin")
        repo.record_consent(self.store, no, purpose=PURPOSE, text_version="face-1.test", recorded_by="admin", at=NOW)
        kept = vectors(seed)
        repo.replace_templates(self.store, self.key, no, kept, model=MODEL, source="photos", at=NOW, actor="admin")
        self.gallery.add(no, np.stack(kept))
        files = []
        for i in range(punches):
            stored = record_punch(self.store, punch(no, "in" if i % 2 == 0 else "out", 1_790_000_000_000 + i), "gate")
            files.append(self.snaps.keep(stored, self.image, (60.0, 50.0, 90.0, 110.0)))
        return files

    def count(self, sql: str, *args: object) -> int:
        return int(self.store.conn.execute(sql, args).fetchone()[0])

    def templates(self, no: str) -> int:
        return self.count("SELECT count(*) FROM face_templates t JOIN employees e ON e.id = t.employee_id"
                          " WHERE e.employee_no = ?", no)


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Device]:
    built = Device(tmp_path / "state")
    yield built
    built.store.close()


def test_withdrawal_deletes_face_data_in_one_step_and_enrolment_is_refused_until_consent_again(
    device: Device,
) -> None:
    mine = device.enrol("E1", 1, punches=3)
    theirs = device.enrol("E2", 2, punches=1)
    backlog = outbox.backlog(device.store)

    done = withdraw_consent(device.store, "E1", actor=ACTOR, clock=device.clock, gallery=device.gallery)

    assert done.versions == ["face-1.test"] and done.templates == 3 and len(done.snapshot_paths) == 3
    withdrawn_at, withdrawn_by, version = device.store.conn.execute(
        "SELECT withdrawn_at, withdrawn_by, text_version FROM consents WHERE subject_ref = 'E1'").fetchone()
    assert withdrawn_at == NOW.isoformat() and withdrawn_by == ACTOR and version == "face-1.test"
    assert not repo.has_consent(device.store, "E1", PURPOSE) and repo.has_consent(device.store, "E2", PURPOSE)
    # Face data gone (templates, snapshot rows and files); the other employee's untouched; punches kept.
    assert device.templates("E1") == 0 and device.templates("E2") == 3
    assert not any(p.exists() for p in mine) and all(p.exists() for p in theirs)
    assert device.snaps.count() == 1 and device.snaps.recent("E1") == []
    assert device.count("SELECT count(*) FROM punches WHERE employee_no = 'E1'") == 3
    assert "E1" not in device.gallery and "E2" in device.gallery
    # Audited, and queued for the HR server as a protocol-valid enrolment record (no face data in it).
    actor, detail = device.store.conn.execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'consent.withdraw' AND subject = 'E1'").fetchone()
    assert actor == ACTOR
    assert json.loads(detail) == {"purpose": PURPOSE, "versions": ["face-1.test"], "templates": 3, "snapshots": 3}
    assert outbox.backlog(device.store) == backlog + 1
    row = next(r for r in outbox.pending(device.store, 100) if r.seq == done.outbox_seq)
    record = to_record(row)
    assert isinstance(record, EnrolmentRecord)
    assert record.body.event == "removed" and record.body.employee_no == "E1" and record.body.templates == []
    assert record.body.admin == "panel:admin_192.168.1.20" and record.body.consent_ref == "face-1.test"

    # Consent first: a withdrawn consent counts as none.
    entry = next(e for e in roster(device.store) if e.employee_no == "E1")
    assert entry.consent_version is None and entry.templates == 0
    with pytest.raises(InputError, match="no recorded consent"):
        repo.replace_templates(device.store, device.key, "E1", vectors(3), model=MODEL, source="photos", at=NOW,
                               actor="admin")
    # Withdrawing again changes nothing and says why.
    audits = device.count("SELECT count(*) FROM audit_log")
    with pytest.raises(InputError) as refused:
        withdraw_consent(device.store, "E1", actor=ACTOR, clock=device.clock)
    assert refused.value.code == "no-consent" and device.count("SELECT count(*) FROM audit_log") == audits
    # A new consent makes enrolment possible again; the withdrawn record stays as history.
    repo.record_consent(device.store, "E1", purpose=PURPOSE, text_version="face-1.new", recorded_by="admin", at=NOW)
    assert repo.replace_templates(device.store, device.key, "E1", vectors(3), model=MODEL, source="photos",
                                  at=NOW, actor="admin") == 3
    history = repo.consent_history(device.store, "E1", PURPOSE)
    assert [(h.text_version, h.withdrawn_by) for h in history] == [("face-1.new", None), ("face-1.test", ACTOR)]


def test_a_withdrawal_that_fails_midway_changes_nothing_and_keeps_the_files(device: Device) -> None:
    files = device.enrol("E1", 1, punches=2)
    # The outbox row is the last write of the transaction: make it fail.
    device.store.conn.execute(
        "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(Exception, match="disk full"):
        withdraw_consent(device.store, "E1", actor=ACTOR, clock=device.clock, gallery=device.gallery)
    assert repo.has_consent(device.store, "E1", PURPOSE)
    assert device.templates("E1") == 3 and device.snaps.count() == 2 and all(p.exists() for p in files)
    assert device.count("SELECT count(*) FROM audit_log WHERE action = 'consent.withdraw'") == 0
    assert "E1" in device.gallery


def test_unknown_employee_is_refused(device: Device) -> None:
    with pytest.raises(InputError) as refused:
        withdraw_consent(device.store, "NOBODY", actor=ACTOR, clock=device.clock)
    assert refused.value.code == "unknown-employee"


def test_cli_withdraw(device: Device, tmp_path: Path) -> None:
    files = device.enrol("E1", 1, punches=1)
    device.store.close()
    config = tmp_path / "device.toml"
    config.write_text(f'[device]\nid = "gate-1"\nstate_dir = "{device.state}"\n')
    root = str(Path(__file__).resolve().parents[2])
    command = [sys.executable, "-m", "cli.main", "faces", "withdraw", "--config", str(config)]
    done = subprocess.run([*command, "--employee", "E1", "--actor", "hr.wang"], capture_output=True, text=True,
                          timeout=120, cwd=root, check=False)
    assert done.returncode == 0, done.stderr
    assert "Consent of E1 withdrawn" in done.stdout and "3 face template(s) and 1 punch snapshot(s)" in done.stdout
    assert not files[0].exists()
    again = subprocess.run([*command, "--employee", "E1", "--actor", "hr.wang"], capture_output=True, text=True,
                           timeout=120, cwd=root, check=False)
    assert again.returncode == 1 and "nothing to withdraw" in again.stderr
    device.store = open_store(device.state / "device.db")
    assert device.templates("E1") == 0 and not repo.has_consent(device.store, "E1", PURPOSE)
    assert device.store.conn.execute(
        "SELECT actor FROM audit_log WHERE action = 'consent.withdraw'").fetchone()[0] == "cli:hr.wang"
