"""The planar-motion cue on real frames: a real head turning (ORL's pose series of one person) does not
move like a flat sheet; one photo of it moved as a sheet (random small homographies, sensor noise) does."""

from __future__ import annotations

import numpy as np
import pytest

from core.types import Image
from device.vision.detector import YuNetDetector, largest
from device.vision.pipeline import frame_detector
from device.vision.planarity import PlanarMotion
from drills.vision.attempt_scenes import _compose
from tests.vision.conftest import face_image, needs_faces

pytestmark = [needs_faces]


def _noisy(frame: Image, rng: np.random.Generator) -> Image:
    return np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)


def _as_sheet(photo: Image, rng: np.random.Generator, count: int) -> list[Image]:
    """The photo as a held print: each frame the whole sheet moved by a small random homography."""
    import cv2

    scene = _compose(photo, 2.6, (0.0, 0.0))
    frames = []
    for _ in range(count):
        moved = np.eye(3) + np.array([[rng.normal(0, 0.01), rng.normal(0, 0.01), rng.normal(0, 4)],
                                      [rng.normal(0, 0.01), rng.normal(0, 0.01), rng.normal(0, 4)],
                                      [rng.normal(0, 2e-5), rng.normal(0, 2e-5), 0.0]])
        frames.append(_noisy(cv2.warpPerspective(scene, moved, (640, 480), borderMode=cv2.BORDER_REPLICATE), rng))
    return frames


def _series(frames: list[Image], detector: YuNetDetector) -> list[float]:
    cue = PlanarMotion()
    seen = [(f, largest(detector.detect(f))) for f in frames]
    found = []
    for (a, fa), (b, fb) in zip(seen, seen[1:], strict=False):
        if fa is not None and fb is not None and (value := cue.measure((a, fa), (b, fb))) is not None:
            found.append(value)
    return found


@pytest.mark.parametrize("subject", ["s2", "s9"])
def test_a_turning_head_is_not_flat_and_a_moved_photo_is(subject: str, detector: YuNetDetector) -> None:
    rng = np.random.default_rng(7)
    frames_of = frame_detector(detector)
    photos = [face_image(f"orl/{subject}/{i}.pgm") for i in range(1, 7)]
    turning = _series([_noisy(_compose(p, 2.6, (0.0, 0.0)), rng) for p in photos], frames_of)
    sheet = _series(_as_sheet(photos[0], rng, 6), frames_of)
    assert len(turning) >= 3 and len(sheet) >= 3
    # A flat sheet leaves about what noise leaves; a real head's pose change leaves several times more.
    assert max(sheet) < 5.0, sheet
    assert min(turning) > 2 * max(sheet), (turning, sheet)
