"""The quality gate on constructed cases made from real faces."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from device.config.device import RecognitionSection
from device.vision.detector import YuNetDetector, largest
from device.vision.quality import assess, estimate_yaw
from device.vision.types import Face
from tests.vision.conftest import FACES, LFW_SAMPLES, face_image, needs_faces

pytestmark = needs_faces
GOOD = "lfw-dev/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"  # frontal, face about 100 px wide


def verdict(detector: YuNetDetector, image: np.ndarray, cfg: RecognitionSection, enrolment: bool = False) -> str | None:
    return assess(image, detector.detect(image), cfg, enrolment=enrolment).reason


def test_good_face_passes(detector: YuNetDetector, cfg: RecognitionSection) -> None:
    result = assess(image := face_image(GOOD), detector.detect(image), cfg)
    assert result.ok and result.reason is None
    assert {"face_px", "brightness", "sharpness", "yaw_degrees"} <= result.measures.keys()


def test_blurred(detector: YuNetDetector, cfg: RecognitionSection) -> None:
    image = face_image(GOOD)
    face = largest(detector.detect(image))
    assert face is not None
    blurred = cv2.GaussianBlur(image, (0, 0), 0.04 * face.box[2])
    assert verdict(detector, blurred, cfg) == "blurred"


def test_too_dark_and_too_bright(detector: YuNetDetector, cfg: RecognitionSection) -> None:
    image = face_image(GOOD).astype(np.float32)
    dark = np.clip(image * 0.2, 0, 255).astype(np.uint8)
    bright = np.clip(image * 0.3 + 200, 0, 255).astype(np.uint8)
    assert verdict(detector, dark, cfg) == "too-dark"
    assert verdict(detector, bright, cfg) == "too-bright"


def test_too_small(detector: YuNetDetector, cfg: RecognitionSection) -> None:
    image = face_image(GOOD)
    small = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # face ~50 px < 80
    canvas = np.full((480, 640, 3), 120, np.uint8)
    canvas[100:100 + small.shape[0], 200:200 + small.shape[1]] = small
    assert verdict(detector, canvas, cfg) == "too-small"


def test_cut_off(detector: YuNetDetector) -> None:
    image = face_image(GOOD)
    face = largest(detector.detect(image))
    assert face is not None
    x, _, w, _ = face.box
    cut = np.ascontiguousarray(image[:, int(x + 0.45 * w):])  # the frame edge runs through the face
    assert verdict(detector, cut, RecognitionSection(min_face_px=40)) == "cut-off"


def test_many_faces_on_couple(detector: YuNetDetector, cfg: RecognitionSection) -> None:
    image = face_image("celeb-dev/couple.jpg")
    assert verdict(detector, image, cfg) == "many-faces"  # two faces of similar size at the kiosk
    assert verdict(detector, image, cfg, enrolment=True) == "many-faces"


def test_no_face(detector: YuNetDetector, cfg: RecognitionSection) -> None:
    assert verdict(detector, np.full((480, 640, 3), 90, np.uint8), cfg) == "no-face"


def _face_with(nose_x: float) -> Face:
    marks = np.array([[40, 50], [80, 50], [nose_x, 70], [45, 90], [75, 90]], np.float32)
    return Face(box=(20, 20, 80, 100), landmarks=marks, score=0.9)


def test_turned_from_landmarks(cfg: RecognitionSection) -> None:
    image = np.full((200, 200, 3), 128, np.uint8)
    assert estimate_yaw(_face_with(60)) == pytest.approx(0.0)
    assert estimate_yaw(_face_with(75)) > 30 and estimate_yaw(_face_with(45)) < -30
    assert assess(image, [_face_with(75)], cfg).reason == "turned"


@pytest.mark.parametrize("relative", LFW_SAMPLES)
def test_mirror_image_flips_the_yaw_sign(detector: YuNetDetector, relative: str) -> None:
    image = face_image(f"lfw-dev/{relative}")
    face, mirrored = largest(detector.detect(image)), largest(detector.detect(np.ascontiguousarray(image[:, ::-1])))
    assert face is not None and mirrored is not None
    yaw, yaw_mirror = estimate_yaw(face), estimate_yaw(mirrored)
    # Same head, opposite turn. YuNet's nose point is noisy: a mirrored pair was measured up to 12.5
    # degrees from exact symmetry, so the sign is asserted only for clearly turned heads.
    if abs(yaw) > 12:
        assert np.sign(yaw) == -np.sign(yaw_mirror)
    assert abs(yaw + yaw_mirror) < 15


def test_default_thresholds_pass_the_good_dataset_images(detector: YuNetDetector) -> None:
    """The calibration claim in quality.py: ORL, Yale and celeb-dev faces pass (ORL's small faces with a
    lowered size floor, since size is a camera-distance setting, not image quality)."""
    from core.images import load_image

    cfg = RecognitionSection(min_face_px=40)
    paths = [FACES / "orl" / f"s{i}" / "1.pgm" for i in range(1, 41)]
    paths += [FACES / "yale" / r["path"] for r in csv.DictReader((FACES / "yale" / "labels.csv").open())]
    paths += [FACES / "celeb-dev" / r["image"] for r in csv.DictReader((FACES / "celeb-dev" / "labels.csv").open())]
    reasons = [assess(img := load_image(p), detector.detect(img), cfg).reason for p in paths]
    failed = [(p.name, r) for p, r in zip(paths, reasons, strict=True) if r is not None]
    assert failed == []
