"""The erasure downlink on a real device store with real encrypted punch snapshots (migration 3 columns):
the erased employee's templates, snapshot rows and snapshot files all go; nobody else's."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from core.clock import FakeClock
from device.courier import commands, downlink
from device.store import employees as device_employees
from device.store import open_store
from device.store.punches import record_punch
from device.store.snapshots import SnapshotStore
from sync.protocol import CONSENT_WITHDRAWN, EraseBody
from tests.attendance.real_vision import CELEB
from tests.factories import punch
from tests.sync.test_downlink_order import MODEL, NOW, context, vector


def test_erase_removes_the_employees_snapshot_rows_and_files(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = open_store(state / "device.db")
    try:
        ctx = context(state, store)
        assert ctx.data_key is not None
        snaps = SnapshotStore(store, ctx.data_key, state / "snapshots", FakeClock(NOW), retention_days=7)
        image = np.ascontiguousarray(cv2.imread(str(CELEB / "img1.jpg"), cv2.IMREAD_COLOR))
        files: dict[str, list[Path]] = {"E1": [], "E2": []}
        for seed, no in enumerate(("E1", "E2")):
            device_employees.upsert_employee(store, no, f"name {no}", NOW, "admin")
            device_employees.record_consent(store, no, purpose="face-attendance", text_version="v1",
                                            recorded_by="admin", at=NOW)
            device_employees.replace_templates(store, ctx.data_key, no, [vector(seed)], model=MODEL,
                                               source="photos", at=NOW, actor="admin")
            for i in range(3 if no == "E1" else 1):
                stored = record_punch(store, punch(no, "in", 1_790_000_000_000 + i), "gate-1")
                files[no].append(snaps.keep(stored, image, (60.0, 50.0, 90.0, 110.0)))
        e1_punches = [r[0] for r in store.conn.execute("SELECT id FROM punches WHERE employee_no = 'E1'")]
        assert all(p.exists() for p in files["E1"]) and snaps.count() == 4

        outcome = downlink.apply_command(
            ctx, EraseBody(command_seq=1, erasure_id="erase-7", employee_nos=["E1"], reason="left the company"))

        assert outcome.outcome == "applied"
        assert outcome.detail == {"erasure_id": "erase-7", "templates": 1, "snapshots": 3}
        assert not any(p.exists() for p in files["E1"])
        assert store.conn.execute(
            "SELECT count(*) FROM punch_snapshots s JOIN punches p ON p.id = s.punch_id WHERE p.employee_no = 'E1'"
        ).fetchone()[0] == 0
        assert all(snaps.load(punch_id) is None for punch_id in e1_punches)
        # Nobody else's face data goes: E2's snapshot (row and file) and template stay.
        assert snaps.count() == 1 and files["E2"][0].exists() and snaps.recent("E2")
        owners = {t.employee_no for t in device_employees.load_templates(store, ctx.data_key, MODEL)}
        assert owners == {"E2"}
        assert len(list((state / "snapshots").iterdir())) == 1  # no stray file left behind either
        detail = store.conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'downlink.erase'").fetchone()[0]
        assert json.loads(detail)["snapshots"] == 3
    finally:
        store.close()


def test_an_erase_for_a_withdrawal_closes_the_consent_here_and_an_ordinary_one_does_not(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = open_store(state / "device.db")
    try:
        ctx = context(state, store)
        assert ctx.data_key is not None
        for seed, no in enumerate(("E1", "E2")):
            device_employees.upsert_employee(store, no, f"name {no}", NOW, "admin")
            device_employees.record_consent(store, no, purpose=device_employees.FACE_PURPOSE, text_version="v1",
                                            recorded_by="admin", at=NOW)
            device_employees.replace_templates(store, ctx.data_key, no, [vector(seed)], model=MODEL,
                                               source="photos", at=NOW, actor="admin")

        downlink.apply_command(ctx, EraseBody(command_seq=1, employee_nos=["E1"], reason=CONSENT_WITHDRAWN))
        downlink.apply_command(ctx, EraseBody(command_seq=2, employee_nos=["E2"], reason="left the company"))

        # Withdrawn at another terminal: this one may not enrol E1 again until new consent is recorded.
        assert not device_employees.has_consent(store, "E1", device_employees.FACE_PURPOSE)
        withdrawn = store.conn.execute(
            "SELECT withdrawn_by FROM consents WHERE subject_ref = 'E1'").fetchone()[0]
        assert withdrawn == commands.ACTOR
        # An ordinary erasure deletes face data only: the signed consent stands.
        assert device_employees.has_consent(store, "E2", device_employees.FACE_PURPOSE)
    finally:
        store.close()
