"""YuNet on real dataset faces: one face on ORL/LFW, several on group photos, any input size."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import InputError, ModelError
from device.vision.detector import YuNetDetector, largest
from tests.vision.conftest import FACES, LFW_SAMPLES, YUNET, face_image, needs_faces

pytestmark = needs_faces


@pytest.mark.parametrize("subject", ["s1", "s7", "s13", "s22", "s35", "s40"])
def test_one_face_on_tiny_orl_images(detector: YuNetDetector, subject: str) -> None:
    image = face_image(f"orl/{subject}/1.pgm")  # 92 x 112, the face fills the frame
    faces = detector.detect(image)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert 40 <= w <= 100  # mapped back to the original pixels, not the enlarged working image
    marks = faces[0].landmarks
    assert marks.shape == (5, 2)
    assert marks[0, 0] < marks[1, 0]  # right eye (image left) before left eye
    assert np.all((marks[:, 0] > 0) & (marks[:, 0] < 92) & (marks[:, 1] > 0) & (marks[:, 1] < 112))


@pytest.mark.parametrize("relative", LFW_SAMPLES)
def test_centred_face_on_lfw(detector: YuNetDetector, relative: str) -> None:
    image = face_image(f"lfw-dev/{relative}")
    face = largest(detector.detect(image))
    assert face is not None
    cx, cy = face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2
    assert abs(cx - 125) < 30 and abs(cy - 125) < 40  # deep-funnelled LFW centres the face


def test_group_photos(detector: YuNetDetector) -> None:
    assert len(detector.detect(face_image("celeb-dev/couple.jpg"))) == 2
    assert len(detector.detect(face_image("celeb-dev/selfie-many-people.jpg"))) >= 5  # 6 measured


def test_big_image_is_detected_at_working_size_and_mapped_back(detector: YuNetDetector) -> None:
    image = face_image("celeb-dev/img1.jpg")  # 1382 x 1868
    big = largest(detector.detect(image))
    half = largest(detector.detect(cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)))
    assert big is not None and half is not None
    # The same face, in each image's own pixels: the full-size box is twice the half-size one.
    assert big.box[2] == pytest.approx(2 * half.box[2], rel=0.1)
    assert big.box[0] == pytest.approx(2 * half.box[0], rel=0.1, abs=10)


def test_no_face_in_a_blank_frame(detector: YuNetDetector) -> None:
    assert detector.detect(np.full((480, 640, 3), 127, np.uint8)) == []


def test_rejects_non_bgr_input(detector: YuNetDetector) -> None:
    with pytest.raises(InputError):
        detector.detect(np.zeros((100, 100), np.uint8))  # type: ignore[arg-type]


def test_model_with_wrong_hash_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "yunet.onnx"
    shutil.copyfile(YUNET, tampered)
    data = bytearray(tampered.read_bytes())
    data[-1] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ModelError) as caught:
        YuNetDetector(tampered)
    assert "sha256" in str(caught.value)


def test_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        YuNetDetector(tmp_path / "absent.onnx")


def test_detection_rate_on_every_orl_and_yale_image(detector: YuNetDetector) -> None:
    from core.images import load_image

    paths = sorted((FACES / "orl").glob("s*/*.pgm")) + sorted((FACES / "yale").glob("subject*"))
    found = sum(bool(detector.detect(load_image(p))) for p in paths)
    assert found == len(paths)  # measured: 400/400 ORL, 164/164 Yale


def _cv2_reference(detector: YuNetDetector, image: np.ndarray) -> np.ndarray:
    """OpenCV's own FaceDetectorYN on the working image our detector builds (same border and resize),
    mapped back to the image's pixels: N x 15 rows, most confident first."""
    height, width = image.shape[:2]
    pad, work = 0, image
    if max(height, width) < detector.min_side:
        pad = int(round(detector.small_pad * max(height, width)))
        work = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    work_h, work_w = work.shape[:2]
    longest = max(work_h, work_w)
    scale = detector.max_side / longest if longest > detector.max_side else (
        detector.min_side / longest if longest < detector.min_side else 1.0)
    if scale != 1.0:
        size = (max(1, round(work_w * scale)), max(1, round(work_h * scale)))
        shrink = cv2.INTER_LINEAR if detector.fast_shrink else cv2.INTER_AREA
        work = cv2.resize(work, size, interpolation=shrink if scale < 1 else cv2.INTER_LINEAR)
    net = cv2.FaceDetectorYN.create(str(YUNET), "", (work.shape[1], work.shape[0]), detector.score_threshold,
                                    detector.nms_threshold, 5000)
    _, rows = net.detect(work)
    if rows is None:
        return np.zeros((0, 15), np.float32)
    rows = rows.copy()
    sx, sy = work_w / work.shape[1], work_h / work.shape[0]
    rows[:, 0:14:2] *= sx  # x, width and the landmarks' x
    rows[:, 1:14:2] *= sy
    rows[:, [0, 4, 6, 8, 10, 12]] -= pad
    rows[:, [1, 5, 7, 9, 11, 13]] -= pad
    return rows[np.argsort(-rows[:, 14])]


@pytest.mark.parametrize("relative", [
    "orl/s3/4.pgm", "yale/subject07.happy", "celeb-dev/couple.jpg", "celeb-dev/selfie-many-people.jpg",
    "celeb-dev/img1.jpg", *(f"lfw-dev/{p}" for p in LFW_SAMPLES)])
@pytest.mark.parametrize(("max_side", "fast_shrink"), [(640, False), (320, False), (256, True)])
def test_onnxruntime_decode_gives_opencvs_faces(detector: YuNetDetector, relative: str, max_side: int,
                                                fast_shrink: bool) -> None:
    """The network runs in ONNX Runtime with our port of FaceDetectorYN's decode and NMS: the same faces,
    boxes, landmarks and scores as OpenCV's own implementation on the same working image."""
    sized = detector.sized(max_side=max_side, min_side=min(320, max_side), fast_shrink=fast_shrink)
    image = face_image(relative)
    ours = sized.detect(image)
    reference = _cv2_reference(sized, image)
    assert len(ours) == len(reference) >= 1
    for face, row in zip(ours, reference, strict=True):
        assert np.allclose(face.box, row[0:4], atol=0.05 + 1e-3 * face.box[2])
        assert np.allclose(face.landmarks.reshape(-1), row[4:14], atol=0.05 + 1e-3 * face.box[2])
        assert face.score == pytest.approx(float(row[14]), abs=1e-4)


def test_sized_detectors_share_the_network_and_map_back(detector: YuNetDetector) -> None:
    frame = cv2.resize(face_image("celeb-dev/img1.jpg"), (480, 640), interpolation=cv2.INTER_AREA)
    small = detector.sized(max_side=320)
    assert small.version == detector.version and small.max_side == 320 and detector.max_side == 640
    full, half = largest(detector.detect(frame)), largest(small.detect(frame))
    assert full is not None and half is not None
    assert half.box[2] == pytest.approx(full.box[2], rel=0.1)  # both in the frame's own pixels
    assert np.abs(half.landmarks - full.landmarks).max() < 0.1 * full.box[2]  # 7% measured (coarser input)
    with pytest.raises(ValueError):
        detector.sized(max_side=100, min_side=200)
