"""Enrolment bookkeeping with a scripted embedder: consent first, templates encrypted, re-enrol replaces,
deletion immediate and audited, too few good photos changes nothing. (The per-image verdicts on real
photos with the real pipeline are in test_enrolment_real.py.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from core.clock import FakeClock
from core.datakey import load_or_create
from core.errors import InputError
from core.types import Image, Vector
from device.attendance.enrolment import Enroller
from device.config.device import EnrolmentSection
from device.store import Store, open_store
from device.store import employees as repo
from device.vision.types import Match
from tests.test_store import NOW


class ScriptedEmbedder:
    """Explicit test double: returns the scripted (vector, reason) pairs in order, one per photo."""

    def __init__(self, script: list[tuple[Vector | None, str | None]]) -> None:
        self.script = list(script)
        self.seen = 0

    def embed_image(self, image: Image) -> tuple[Vector | None, str | None]:
        assert image.ndim == 3 and image.dtype == np.uint8
        self.seen += 1
        return self.script.pop(0)


class RecordingGallery:
    def __init__(self) -> None:
        self.people: dict[str, list[Vector]] = {}

    def search(self, vector: Vector) -> Match:
        raise AssertionError("enrolment never searches")

    def add(self, employee_no: str, vectors: np.ndarray) -> None:
        self.people.setdefault(employee_no, []).extend(list(vectors))

    def remove(self, employee_no: str) -> None:
        self.people.pop(employee_no, None)


def unit(seed: int) -> Vector:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


def png(value: int = 128) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (64, 64), (value, value, value)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(tmp_path / "d.db")
    yield s  # type: ignore[misc]
    s.close()


def enroller(store: Store, tmp_path: Path, script: list[tuple[Vector | None, str | None]], **kw: object) -> Enroller:
    return Enroller(
        store=store,
        key=load_or_create(tmp_path / "keys" / "data.key"),
        embedder=ScriptedEmbedder(script),
        model="test-embedder",
        clock=FakeClock(NOW),
        settings=EnrolmentSection(min_good_images=2, max_templates=3),
        **kw,  # type: ignore[arg-type]
    )


def test_refuses_without_consent_and_processes_nothing(store: Store, tmp_path: Path) -> None:
    e = enroller(store, tmp_path, [(unit(1), None)] * 3)
    repo.upsert_employee(store, "E1", "Li Lei", NOW, "admin")
    with pytest.raises(InputError) as caught:
        e.enrol_photos("E1", [("a.png", png())] * 3, actor="admin")
    assert caught.value.code == "no-consent"
    assert e.embedder.seen == 0  # type: ignore[attr-defined]
    assert store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == 0


def test_enrols_templates_encrypted_and_reports_each_photo(store: Store, tmp_path: Path) -> None:
    gallery = RecordingGallery()
    good = [unit(1), unit(1) + 0.01, unit(1) - 0.01]
    e = enroller(store, tmp_path, [(good[0], None), (None, "blurred"), (good[1], None)], gallery=gallery)
    e.record_consent("E1", "Li Lei", text_version="v1", recorded_by="admin")
    report = e.enrol_photos("E1", [("a.png", png()), ("b.png", png()), ("bad.png", b"not an image"),
                                   ("c.png", png())], actor="admin")
    assert [(r.name, r.accepted, r.reason) for r in report.images] == [
        ("a.png", True, None), ("b.png", False, "blurred"), ("bad.png", False, "unreadable"), ("c.png", True, None)
    ]
    assert report.enrolled and report.templates == 2
    rows = store.conn.execute("SELECT ciphertext, source FROM face_templates").fetchall()
    assert len(rows) == 2 and {r[1] for r in rows} == {"photos"}
    for ciphertext, _ in rows:  # stored encrypted: the float32 bytes of the vector are not in the database
        assert good[0].astype("<f4").tobytes() not in ciphertext and len(ciphertext) == 128 * 4 + 16
    loaded = repo.load_templates(store, e.key, "test-embedder")
    assert np.allclose(loaded[0].vector, good[0])
    assert len(gallery.people["E1"]) == 2  # the live gallery knows the person at once


def test_too_few_good_photos_keeps_previous_templates(store: Store, tmp_path: Path) -> None:
    e = enroller(store, tmp_path, [(unit(1), None), (unit(1), None), (unit(2), None), (None, "no-face")])
    e.record_consent("E1", "Li Lei", text_version="v1", recorded_by="admin")
    assert e.enrol_photos("E1", [("a.png", png()), ("b.png", png())], actor="admin").enrolled
    again = e.enrol_photos("E1", [("c.png", png()), ("d.png", png())], actor="admin")
    assert not again.enrolled and again.good == 1 and again.needed == 2
    assert [t.vector[0] for t in repo.load_templates(store, e.key, "test-embedder")] == [unit(1)[0]] * 2


def test_reenrolment_replaces_and_caps_templates(store: Store, tmp_path: Path) -> None:
    e = enroller(store, tmp_path, [(unit(1), None)] * 2 + [(unit(5), None)] * 4)
    e.record_consent("E1", "Li Lei", text_version="v1", recorded_by="admin")
    e.enrol_photos("E1", [("a.png", png())] * 2, actor="admin")
    report = e.enrol_photos("E1", [("b.png", png())] * 4, actor="admin")
    assert report.templates == 3  # max_templates
    vectors = repo.load_templates(store, e.key, "test-embedder")
    assert len(vectors) == 3 and all(np.allclose(t.vector, unit(5)) for t in vectors)


def test_a_different_persons_photo_is_rejected(store: Store, tmp_path: Path) -> None:
    base = unit(1)
    e = enroller(store, tmp_path, [(base, None), (base, None), (unit(9), None), (base, None)],
                 same_person_threshold=0.5)
    e.record_consent("E1", "Li Lei", text_version="v1", recorded_by="admin")
    report = e.enrol_photos("E1", [(f"{i}.png", png()) for i in range(4)], actor="admin")
    assert [r.reason for r in report.images] == [None, None, "other-person", None]
    assert report.templates == 3


def test_deletion_is_immediate_audited_and_leaves_the_live_gallery(store: Store, tmp_path: Path) -> None:
    gallery = RecordingGallery()
    e = enroller(store, tmp_path, [(unit(1), None)] * 2, gallery=gallery)
    e.record_consent("E1", "Li Lei", text_version="v1", recorded_by="admin")
    e.enrol_photos("E1", [("a.png", png())] * 2, actor="admin")
    assert e.delete("E1", actor="admin", reason="left the company") == 2
    assert store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == 0
    assert "E1" not in gallery.people
    action, detail = store.conn.execute(
        "SELECT action, detail FROM audit_log WHERE subject = 'E1' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert action == "face.delete" and json.loads(detail) == {"templates": 2, "reason": "left the company"}


def test_folder_lists_every_file(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "E1"
    folder.mkdir()
    (folder / "1.png").write_bytes(png())
    (folder / "2.png").write_bytes(png())
    (folder / "notes.txt").write_text("not a photo")
    e = enroller(store, tmp_path, [(unit(1), None)] * 2)
    e.record_consent("E1", "Li Lei", text_version="v1", recorded_by="admin")
    seen: list[str] = []
    report = e.enrol_folder("E1", folder, actor="admin", progress=seen.append)
    assert seen == ["1.png", "2.png", "notes.txt"]
    reasons = [(r.name, r.reason) for r in report.images]
    assert reasons == [("1.png", None), ("2.png", None), ("notes.txt", "unreadable")]
