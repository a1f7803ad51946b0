"""Integrity flags from camera frames during answers: a face present, exactly one, the same person.

Only these three facts are taken from a frame (face detection and a face embedding compared with the
session's first face); nothing about expression, emotion or personality is inferred, and the flags go to
the human reviewer in the record's ``integrity_flags``, never into a score. Frames are not stored.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import numpy as np

from core.types import Image, Vector
from device.hardware.camera_base import Camera
from device.vision.types import Face

log = logging.getLogger(__name__)

#: Share of checked frames without a face above which "face-absent" is flagged.
ABSENT_SHARE = 0.2
#: Frames with two or more faces / with another person before a flag is raised (one frame can be noise).
MULTIPLE_FRAMES = 2
CHANGED_FRAMES = 2


class FaceReader(Protocol):
    """What the watch needs of the face pipeline (device.vision.pipeline.FacePipeline has both)."""

    def faces(self, image: Image) -> list[Face]: ...

    def embed_face(self, image: Image, face: Face) -> Vector: ...


class PipelineFaces:
    """Adapts the attendance FacePipeline: its frame detector and embedder."""

    def __init__(self, pipeline: object) -> None:
        self._pipeline = pipeline

    def faces(self, image: Image) -> list[Face]:
        found: list[Face] = self._pipeline.frame_detector.detect(image)  # type: ignore[attr-defined]
        return found

    def embed_face(self, image: Image, face: Face) -> Vector:
        vector: Vector = self._pipeline.embed_face(image, face)  # type: ignore[attr-defined]
        return vector


class IntegrityWatch:
    """Counts per session; ``observe`` one frame; ``flags`` for the record."""

    def __init__(self, faces: FaceReader, same_person_threshold: float, counts: dict[str, int] | None = None) -> None:
        self._faces = faces
        self._threshold = same_person_threshold
        self.counts: dict[str, int] = {"frames": 0, "no_face": 0, "multiple": 0, "changed": 0}
        self.counts.update(counts or {})
        self._reference: Vector | None = None
        self._lock = threading.Lock()

    def observe(self, image: Image) -> None:
        faces = self._faces.faces(image)
        with self._lock:
            self.counts["frames"] += 1
            if not faces:
                self.counts["no_face"] += 1
                return
            if len(faces) > 1:
                self.counts["multiple"] += 1
                return
        vector = self._faces.embed_face(image, faces[0])
        with self._lock:
            if self._reference is None:
                self._reference = vector
            elif float(np.dot(self._reference, vector)) < self._threshold:
                self.counts["changed"] += 1

    def flags(self) -> list[str]:
        c = self.counts
        out = []
        if c["frames"] and c["no_face"] / c["frames"] > ABSENT_SHARE:
            out.append("face-absent")
        if c["multiple"] >= MULTIPLE_FRAMES:
            out.append("multiple-faces")
        if c["changed"] >= CHANGED_FRAMES:
            out.append("different-person")
        return out


class FrameSampler:
    """While an answer is recorded: a camera frame every ``every_seconds`` to the watch."""

    def __init__(self, camera: Camera, watch: IntegrityWatch, every_seconds: float) -> None:
        self._camera = camera
        self._watch = watch
        self._every = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="integrity", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._camera.read()
                if frame is not None:
                    self._watch.observe(frame.image)
            except Exception:  # a camera fault costs the flags of this answer, never the answer itself
                log.exception("integrity frame check failed")
                return
            self._stop.wait(self._every)
