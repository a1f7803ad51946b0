"""The quality gate: is this face good enough to recognise (kiosk) or to enrol (admin photo)?

Each check gives a reason code from QUALITY_REASONS that screens translate. Checks run in a fixed
order, cheapest and most actionable first: no-face, many-faces, cut-off, too-small, turned, too-dark,
too-bright, blurred. ``measures`` carries every value computed, for the panel and for calibration.

How the defaults in RecognitionSection were set (measured with the detector on every ORL, Yale and
celeb-dev image and every 5th LFW image; see the report in the vision branch):
- sharpness = variance of the Laplacian of the face box resized to SHARPNESS_WIDTH px wide (so a face's
  distance to the camera does not change it). Good images: minimum 13 (LFW; 1st percentile 22), ORL
  35, Yale 69, celeb-dev 230. The same faces blurred with a Gaussian of sigma = 4% of the face width:
  2.4 to 16. min_sharpness = 18 separates them.
- brightness = mean grey level of the face box. Good images 38 (Yale side light) to 191; a face
  darkened to 20% of its light is below 35.
- yaw from the landmarks (see ``estimate_yaw``): ORL <= 28.5 degrees, Yale <= 9.2, celeb-dev <= 19.8,
  LFW 95th percentile 31.8 (its remaining 5% are visibly turned heads). max_yaw_degrees = 30.
- cut-off: YuNet's box reaches up to 13% of its width past the frame on ORL's tight crops, whose faces are
  whole; a box further out (CUT_OFF_FRACTION) or a landmark outside the frame is cut off.
"""

from __future__ import annotations

import math

import numpy as np

from core.types import Image
from device.config.device import RecognitionSection
from device.vision.types import Face, QualityVerdict

#: The face box is resized to this width before measuring sharpness.
SHARPNESS_WIDTH = 100
#: Depth of the nose tip in front of the eyes, as a fraction of the distance between the eyes
#: (adult anthropometry: about 30 mm nose protrusion for 60-65 mm between eye centres).
NOSE_DEPTH_RATIO = 0.5
#: A box reaching further than this fraction of its width outside the frame is cut off.
CUT_OFF_FRACTION = 0.2
#: Kiosk: a second face at least this wide relative to the largest makes it unclear who is punching.
KIOSK_SIMILAR_FACE = 0.8
#: Enrolment: a second face at least this wide relative to the largest makes the photo ambiguous;
#: smaller faces are people in the background.
ENROL_SECOND_FACE = 0.5
#: A second detection below this confidence is not counted as another person: on celeb-dev img41 YuNet
#: scored a blurred background region 0.76, while the real faces of couple.jpg and the group selfie
#: score 0.80-0.95.
OTHER_FACE_MIN_SCORE = 0.8


def estimate_yaw(face: Face) -> float:
    """Head turn in degrees from the 5 landmarks (sign: + = nose towards the image's right).

    The nose tip's offset from the eye midpoint, measured along the eye line (so head roll does not
    count), divided by the distance between the eyes, is (depth/eye distance) * tan(yaw) for a head
    turning about a vertical axis.
    """
    right_eye, left_eye, nose = (face.landmarks[i].astype(np.float64) for i in range(3))
    eye_vec = left_eye - right_eye
    eye_dist = float(np.hypot(eye_vec[0], eye_vec[1]))
    if eye_dist < 1e-6:
        return 90.0
    along = float(np.dot(nose - (left_eye + right_eye) / 2.0, eye_vec / eye_dist))
    return math.degrees(math.atan2(along / eye_dist, NOSE_DEPTH_RATIO))


def _face_crop_grey(image: Image, face: Face) -> np.ndarray | None:
    import cv2

    height, width = image.shape[:2]
    x, y, w, h = face.box
    x0, y0 = max(0, int(math.floor(x))), max(0, int(math.floor(y)))
    x1, y1 = min(width, int(math.ceil(x + w))), min(height, int(math.ceil(y + h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return np.asarray(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def sharpness(grey_face: np.ndarray) -> float:
    """Variance of the Laplacian of the face resized to SHARPNESS_WIDTH px wide."""
    import cv2

    scale = SHARPNESS_WIDTH / grey_face.shape[1]
    size = (SHARPNESS_WIDTH, max(2, round(grey_face.shape[0] * scale)))
    resized = cv2.resize(grey_face, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(resized, cv2.CV_64F).var())


def _outside_fraction(image: Image, face: Face) -> float:
    height, width = image.shape[:2]
    x, y, w, h = face.box
    beyond = float(max(-x, -y, x + w - width, y + h - height, 0.0))
    return beyond / max(w, 1.0)


def _landmarks_inside(image: Image, face: Face) -> bool:
    height, width = image.shape[:2]
    marks = face.landmarks
    return bool(np.all(marks[:, 0] >= 0) and np.all(marks[:, 0] < width)
                and np.all(marks[:, 1] >= 0) and np.all(marks[:, 1] < height))


def assess(image: Image, faces: list[Face], cfg: RecognitionSection, *, enrolment: bool = False) -> QualityVerdict:
    """Judge the largest face. ``enrolment`` is stricter about other faces in the photo."""
    if not faces:
        return QualityVerdict(False, "no-face", {"faces": 0.0})
    ordered = sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)  # the same face as largest()
    face = ordered[0]
    measures: dict[str, float] = {"faces": float(len(faces)), "face_px": float(face.box[2])}
    others = [f for f in ordered[1:] if f.score >= OTHER_FACE_MIN_SCORE]
    if others:
        ratio = others[0].box[2] / max(face.box[2], 1e-6)
        measures["second_face_ratio"] = ratio
        if ratio >= (ENROL_SECOND_FACE if enrolment else KIOSK_SIMILAR_FACE):
            return QualityVerdict(False, "many-faces", measures)
    # Cut-off before size: a face cut by the frame edge also gets a smaller box, and "move into the
    # frame" is the advice that helps.
    outside = _outside_fraction(image, face)
    measures["outside_fraction"] = outside
    if outside > CUT_OFF_FRACTION or not _landmarks_inside(image, face):
        return QualityVerdict(False, "cut-off", measures)
    if face.box[2] < cfg.min_face_px:
        return QualityVerdict(False, "too-small", measures)
    yaw = estimate_yaw(face)
    measures["yaw_degrees"] = yaw
    if abs(yaw) > cfg.max_yaw_degrees:
        return QualityVerdict(False, "turned", measures)
    grey = _face_crop_grey(image, face)
    if grey is None:
        return QualityVerdict(False, "cut-off", measures)
    brightness = float(grey.mean())
    measures["brightness"] = brightness
    if brightness < cfg.min_brightness:
        return QualityVerdict(False, "too-dark", measures)
    if brightness > cfg.max_brightness:
        return QualityVerdict(False, "too-bright", measures)
    sharp = sharpness(grey)
    measures["sharpness"] = sharp
    if sharp < cfg.min_sharpness:
        return QualityVerdict(False, "blurred", measures)
    return QualityVerdict(True, None, measures)
