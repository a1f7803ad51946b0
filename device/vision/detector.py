"""Face detection with YuNet (libfacedetection, Apache-2.0) in OpenCV's ``cv2.FaceDetectorYN``.

YuNet gives a box and 5 landmarks per face, which is all the quality gate, the liveness crop and the
chip alignment need. It was chosen by measurement (see ``edgehr bench faces``): with the resizing
below it finds a face in 100% of ORL, Yale, celeb-dev and LFW images at about 2-6 ms per frame on
one x86 thread; OpenCV runs it without another runtime.

Any input size works: a big photo is shrunk so its longest side is ``max_side`` (detection cost grows
with pixels, faces in a 12 MP photo are huge), a small one (ORL is 92 x 112, the face fills the frame)
gets a black border first — YuNet misses faces that touch the frame edge — and is enlarged to
``min_side``. Boxes and landmarks are mapped back to the caller's pixels.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import InputError, ModelError
from device.paths import shared_dir
from device.vision.model_files import file_sha256
from device.vision.types import Face, Image

YUNET_FILE = "models-src/yunet/yunet_s_640_640.onnx"
#: sha256 from ../shared/models-src/SOURCES.md (= OpenCV Zoo's face_detection_yunet_2023mar.onnx).
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"


def default_yunet_path() -> Path:
    return shared_dir() / YUNET_FILE




class YuNetDetector:
    """``Detector`` backed by cv2.FaceDetectorYN; faces are returned most confident first.

    One instance may be shared by threads: calls are serialised by a lock (FaceDetectorYN keeps the
    input size as state between ``setInputSize`` and ``detect``).
    """

    name = "yunet"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int = 640,
        min_side: int = 320,
        small_pad: float = 0.15,
        threads: int = 1,
    ) -> None:
        import cv2

        path = model_path or default_yunet_path()
        if not path.is_file():
            raise ModelError(
                f"Face detector model {path} not found.",
                "Set EDGEHR_SHARED to the folder holding models-src/yunet, or install the model files.",
            )
        digest = file_sha256(path)
        if digest != YUNET_SHA256:
            raise ModelError(
                f"Face detector model {path} has sha256 {digest}, expected {YUNET_SHA256}.",
                "Replace it with OpenCV Zoo's face_detection_yunet_2023mar.onnx (same bytes).",
            )
        if not 0 < min_side <= max_side:
            raise ValueError("min_side must be positive and not above max_side")
        # One OpenCV thread by default: on the Pi the detector, liveness and embedder share 4 cores
        # with the kiosk screen; OpenCV's pool would otherwise take all of them for one small net.
        cv2.setNumThreads(threads)
        self.version = digest[:16]
        self.max_side = max_side
        self.min_side = min_side
        self.small_pad = small_pad
        self._lock = threading.Lock()
        self._net: Any = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold, nms_threshold, 5000)

    def detect(self, image: Image) -> list[Face]:
        import cv2

        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InputError(
                f"The detector needs an H x W x 3 uint8 BGR image, got {image.dtype} {image.shape}.",
                "Load images with device.vision.images.load_image.",
            )
        height, width = image.shape[:2]
        pad = 0
        work = image
        if max(height, width) < self.min_side:
            pad = int(round(self.small_pad * max(height, width)))
            work = np.asarray(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)))
        work_h, work_w = work.shape[:2]
        longest = max(work_h, work_w)
        scale = 1.0
        if longest > self.max_side:
            scale = self.max_side / longest
        elif longest < self.min_side:
            scale = self.min_side / longest
        if scale != 1.0:
            size = (max(1, round(work_w * scale)), max(1, round(work_h * scale)))
            interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
            work = np.asarray(cv2.resize(work, size, interpolation=interpolation), dtype=np.uint8)
        with self._lock:
            self._net.setInputSize((work.shape[1], work.shape[0]))
            _, rows = self._net.detect(work)
        if rows is None:
            return []
        # Map from the working image back to the caller's: undo the resize, then the border.
        sx = work_w / work.shape[1]
        sy = work_h / work.shape[0]
        faces = []
        for row in np.asarray(rows, dtype=np.float32):
            x, y, w, h = float(row[0]) * sx - pad, float(row[1]) * sy - pad, float(row[2]) * sx, float(row[3]) * sy
            marks = row[4:14].reshape(5, 2).copy()
            marks[:, 0] = marks[:, 0] * sx - pad
            marks[:, 1] = marks[:, 1] * sy - pad
            faces.append(Face(box=(x, y, w, h), landmarks=marks.astype(np.float32), score=float(row[14])))
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces


def largest(faces: list[Face]) -> Face | None:
    """The face with the biggest box (the person nearest the camera), or None."""
    if not faces:
        return None
    return max(faces, key=lambda f: f.box[2] * f.box[3])


class FakeDetector:
    """FAKE detector for tests of other components; never a fallback. Returns the faces it was given."""

    name = "fake"
    version = "fake-1"

    def __init__(self, faces: list[Face]) -> None:
        self.faces = faces

    def detect(self, image: Image) -> list[Face]:
        return list(self.faces)
