"""Punch snapshots with real SQLite and real photos: written encrypted and linked to the punch by the kiosk,
never when switched off, read back only with the data key, purged after the retention (audited)."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from core.clock import FakeClock
from core.datakey import load_or_create
from core.errors import StoreError
from device.attendance.decision import Decision
from device.attendance.kiosk import Kiosk
from device.attendance.outcomes import Punched
from device.attendance.rules import PunchRules
from device.attendance.screen import KioskScreen
from device.config.device import AttendanceSection, DeviceConfig
from device.hardware.camera_fake import FakeCamera
from device.store import Store, open_store
from device.store import employees as repo
from device.store.punches import NewPunch, Punch, record_punch
from device.store.snapshots import ORPHAN_GRACE, SnapshotStore
from tests.attendance.real_vision import CELEB
from tests.attendance.scripted import BOX, OneHotGallery, RecordingFeedback, ScriptedAnalyser, person

ZONE = ZoneInfo("Asia/Shanghai")


def photo() -> np.ndarray:
    image = cv2.imread(str(CELEB / "img1.jpg"), cv2.IMREAD_COLOR)
    assert image is not None
    return np.ascontiguousarray(image)


def punch(store: Store, clock: FakeClock, no: str = "E1") -> Punch:
    return record_punch(store, NewPunch(no, "in", "2026-03-02", clock.now().isoformat(), 0, 0, True, "face"), "gate")


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Store, SnapshotStore, FakeClock]:
    # Near real time: the orphan sweep compares file times with the clock.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    store = open_store(tmp_path / "d.db")
    repo.upsert_employee(store, "E1", "Li Lei", clock.now(), "admin")
    snaps = SnapshotStore(store, load_or_create(tmp_path / "keys" / "data.key"), tmp_path / "snapshots", clock,
                          retention_days=7)
    return store, snaps, clock


def test_snapshot_is_an_encrypted_face_crop_linked_to_its_punch(parts: tuple[Store, SnapshotStore, FakeClock],
                                                                 tmp_path: Path) -> None:
    store, snaps, clock = parts
    first, second = punch(store, clock), punch(store, clock)
    image = photo()
    box = (60.0, 50.0, 90.0, 110.0)
    path = snaps.keep(first, image, box)
    assert path.parent == tmp_path / "snapshots" and (path.stat().st_mode & 0o777) == 0o600
    sealed = path.read_bytes()
    assert not sealed.startswith(b"\xff\xd8")  # not a JPEG on disk
    jpeg = snaps.load(first.id)
    assert jpeg is not None and jpeg.startswith(b"\xff\xd8")
    crop = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    # The face box with a 30% margin each side, clipped to the frame: a crop, not the whole photo.
    assert crop.shape[1] == min(image.shape[1], int(60 + 90 * 1.3)) - int(60 - 27)
    assert crop.shape[0] < image.shape[0] or crop.shape[1] < image.shape[1]
    assert jpeg[:64] not in (tmp_path / "d.db").read_bytes() + (tmp_path / "d.db-wal").read_bytes()
    row = store.conn.execute("SELECT punch_id, path, key_id, created_at, expires_at FROM punch_snapshots").fetchone()
    assert row[0] == first.id and row[1] == str(path) and row[2] == snaps.key.key_id
    assert datetime.fromisoformat(row[4]) - datetime.fromisoformat(row[3]) == timedelta(days=7)
    assert snaps.load(second.id) is None
    # Bound to its punch: the file moved under another punch's row does not decrypt.
    store.conn.execute("UPDATE punch_snapshots SET punch_id = ?", (second.id,))
    with pytest.raises(StoreError):
        snaps.load(second.id)


def test_purge_removes_snapshots_past_retention_and_is_audited(parts: tuple[Store, SnapshotStore, FakeClock]) -> None:
    store, snaps, clock = parts
    old = snaps.keep(punch(store, clock), photo(), BOX)
    clock.advance(5 * 86400)
    young = snaps.keep(punch(store, clock), photo(), BOX)
    assert snaps.purge().removed == 0
    assert store.conn.execute("SELECT count(*) FROM audit_log WHERE action = 'snapshot.purge'").fetchone()[0] == 0
    clock.advance(3 * 86400)  # the first is 8 days old, the second 3
    result = snaps.purge()
    assert result.removed == 1 and not old.exists() and young.exists() and snaps.count() == 1
    actor, subject, detail = store.conn.execute(
        "SELECT actor, subject, detail FROM audit_log WHERE action = 'snapshot.purge'").fetchone()
    assert actor == "device:snapshot-retention" and json.loads(detail) == {"removed": 1, "retention_days": 7}
    # A shorter retention set later applies to snapshots already kept.
    shorter = SnapshotStore(store, snaps.key, snaps.folder, clock, retention_days=2)
    assert shorter.purge().removed == 1 and not young.exists() and snaps.count() == 0


def test_purge_sweeps_files_a_crash_left_without_a_row(parts: tuple[Store, SnapshotStore, FakeClock]) -> None:
    store, snaps, clock = parts
    kept = snaps.keep(punch(store, clock), photo(), BOX)
    stray = snaps.folder / "crashed.snap"
    stray.write_bytes(b"sealed bytes")
    fresh = snaps.folder / "being-written.snap"
    fresh.write_bytes(b"sealed bytes")
    past = time.time() - ORPHAN_GRACE.total_seconds() - 60
    os.utime(stray, (past, past))
    result = snaps.purge()
    assert result.orphans == 1 and not stray.exists() and fresh.exists() and kept.exists()
    assert store.conn.execute("SELECT count(*) FROM audit_log WHERE action = 'snapshot.sweep'").fetchone()[0] == 1


def kiosk(store: Store, clock: FakeClock, snaps: SnapshotStore | None) -> Kiosk:
    return Kiosk(
        device_id="gate",
        camera=FakeCamera(paced=False, frames=1),
        pipeline=ScriptedAnalyser([person("E1")] * 3),  # type: ignore[arg-type]
        gallery=OneHotGallery(["E1"]),
        decision=Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=0.5),
        rules=PunchRules(AttendanceSection(), ZONE),
        store=store,
        clock=clock,
        feedback=RecordingFeedback(),
        screen=KioskScreen(device_name="", default_language="en", monotonic_ns=clock.monotonic_ns),
        models={},
        zone=ZONE,
        snapshots=snaps,
    )


def test_kiosk_keeps_the_deciding_frame_only_when_enabled(parts: tuple[Store, SnapshotStore, FakeClock],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    store, snaps, clock = parts
    image = photo()
    caplog.set_level(logging.DEBUG)
    off = kiosk(store, clock, None)
    outcomes = [off.process(image) for _ in range(3)]
    assert isinstance(outcomes[-1], Punched) and snaps.count() == 0 and not snaps.folder.exists()
    clock.advance(3600)  # past the debounce window
    on = kiosk(store, clock, snaps)
    frames = [image, image, np.ascontiguousarray(image[:, ::-1])]  # the third (mirrored) frame decides
    outcomes = [on.process(frame) for frame in frames]
    assert isinstance(outcomes[-1], Punched)
    punch_id = store.conn.execute("SELECT max(id) FROM punches").fetchone()[0]
    jpeg = snaps.load(punch_id)
    assert jpeg is not None
    crop = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(np.int16)
    x, y, w, h = (int(v) for v in BOX)
    left, top = int(x - 0.3 * w), int(y - 0.3 * h)
    expected = frames[2][top:top + crop.shape[0], left:left + crop.shape[1]].astype(np.int16)
    wrong = frames[0][top:top + crop.shape[0], left:left + crop.shape[1]].astype(np.int16)
    assert np.abs(crop - expected).mean() < np.abs(crop - wrong).mean() / 2  # JPEG is lossy; the frame is right
    # Nothing about the snapshot reaches the log: not its bytes, not its path.
    text = caplog.text
    assert "snapshots" not in text and str(snaps.folder) not in text


def test_retention_is_validated() -> None:
    base = {"device": {"id": "gate"}}
    assert DeviceConfig.model_validate(base | {"attendance": {"snapshots": True, "snapshot_retention_days": 365}})
    for bad in (0, 366):
        with pytest.raises(ValidationError):
            DeviceConfig.model_validate(base | {"attendance": {"snapshot_retention_days": bad}})
    assert DeviceConfig.model_validate(base).attendance.snapshots is False
