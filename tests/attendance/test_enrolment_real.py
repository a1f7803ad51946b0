"""Enrolment with the real face pipeline on real photos: a per-photo verdict for each, the reasons the
quality gate gives for a blurred copy, a two-person photo, a tiny face and a file that is not an image."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.clock import SystemClock
from core.datakey import load_or_create
from device.config.device import DeviceConfig
from device.store import open_store
from tests.attendance.real_vision import CELEB, celeb_identities, recognition_settings, requires_vision

pytestmark = requires_vision


def test_per_photo_report_on_real_photos(tmp_path: Path) -> None:
    from device.attendance.enrolment import Enroller
    from device.attendance.vision_parts import open_vision

    config = DeviceConfig.model_validate({"device": {"id": "gate-1", "state_dir": str(tmp_path)},
                                          "enrolment": {"min_good_images": 3},
                                          "recognition": recognition_settings()})
    vision = open_vision(config)
    store = open_store(tmp_path / "d.db")
    try:
        enroller = Enroller(store=store, key=load_or_create(tmp_path / "k" / "data.key"), embedder=vision.pipeline,
                            model=vision.template_model, clock=SystemClock(), settings=config.enrolment,
                            gallery=vision.gallery, same_person_threshold=vision.same_person_threshold)
        enroller.record_consent("E1", "Person id00", text_version="v1", recorded_by="test")
        originals = celeb_identities()["id00"][:4]
        photos = [(p.name, p.read_bytes()) for p in originals]
        sharp = cv2.imdecode(np.frombuffer(originals[0].read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        blurred = cv2.GaussianBlur(sharp, (0, 0), sigmaX=max(sharp.shape[:2]) / 60)
        tiny = cv2.resize(sharp, (sharp.shape[1] // 12, sharp.shape[0] // 12), interpolation=cv2.INTER_AREA)
        photos += [
            ("blurred.jpg", cv2.imencode(".jpg", blurred)[1].tobytes()),
            ("couple.jpg", (CELEB / "couple.jpg").read_bytes()),
            ("tiny.png", cv2.imencode(".png", np.pad(tiny, ((200, 200), (200, 200), (0, 0)), mode="edge"))[1]
             .tobytes()),
            ("notes.txt", b"this is not a photo"),
        ]
        report = enroller.enrol_photos("E1", photos, actor="test")
        verdicts = {r.name: r.reason for r in report.images}
        assert verdicts["blurred.jpg"] == "blurred"
        assert verdicts["couple.jpg"] == "many-faces"
        assert verdicts["tiny.png"] in ("too-small", "no-face")
        assert verdicts["notes.txt"] == "unreadable"
        good = [name for name, reason in verdicts.items() if reason is None]
        assert set(good) <= {p.name for p in originals} and len(good) >= 3
        assert report.enrolled and report.templates == len(good)
        # The live gallery now finds this person with another photo of them.
        other = celeb_identities()["id00"][5]
        vector, reason = vision.pipeline.embed_image(cv2.imdecode(np.frombuffer(other.read_bytes(), np.uint8),
                                                                  cv2.IMREAD_COLOR))
        assert vector is not None, reason
        assert vision.gallery.search(vector).employee_no == "E1"
        # Nothing but templates was kept: no image bytes anywhere in the database.
        assert store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == len(good)
        db_bytes = (tmp_path / "d.db").read_bytes() + (tmp_path / "d.db-wal").read_bytes()
        assert originals[0].read_bytes()[:2000] not in db_bytes
    finally:
        store.close()
