"""Face chip alignment without dlib: a similarity warp of YuNet's 5 landmarks to dlib's chip.

The embedder (dlib's ResNet, converted in models/recipes/dlib_resnet.py) was trained on chips
made by ``dlib.get_face_chip(img, shape, size=150, padding=0.25)`` from dlib's 5-point landmark
model. dlib's 5 points are the two corners of each eye and the base of the nose, whereas
``cv2.FaceDetectorYN`` returns, per face, a row
``x, y, w, h, right_eye, left_eye, nose_tip, right_mouth_corner, left_mouth_corner, score``
(each landmark an x, y pair; "right" is the subject's right, i.e. on the image's left side).
So dlib's own template points cannot be used with YuNet's landmarks; CHIP_TEMPLATE_YUNET
below is dlib's chip layout expressed in YuNet's point convention, measured, not guessed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from core.errors import InputError

CHIP_SIZE = 150

# Where YuNet's 5 landmarks fall, on average, inside a dlib chip (150 x 150, padding 0.25), in
# chip pixel coordinates, in YuNet's order: right eye, left eye, nose tip, right mouth corner,
# left mouth corner.
#
# How it was measured: on LFW images (../shared/datasets/faces/lfw-dev), dlib's HOG detector +
# 5-point model gave the shape, and dlib.get_face_chip_details(shape, 150, 0.25) the chip's
# rectangle and angle, hence the exact image -> chip map dlib uses; YuNet (yunet_s_640_640.onnx
# in cv2.FaceDetectorYN, score >= 0.5, the face nearest dlib's) ran on the FULL image and its
# landmarks were mapped into the chip through that map. The constants are the means over the
# 597 faces both found among 600 images (every third of the sorted file list, from the start).
# `python models/parity.py --template-only` re-measures on all 3,443 images: the mean of the
# 3,109 faces with every point within 15 px of the per-point median (std 3-6.5 px; the rest
# are left out as outliers) differs from these constants by at most 0.7 px, too little to
# matter (moving the whole template 3 px changes descriptors by about 0.005 in cosine).
#
# Change these constants only together with a rebuild and re-calibration: the int8 model is
# calibrated on chips made with them (models/recipes/quantize_embedder.py), so its bytes, its
# sha256 in models/manifest.toml and the thresholds in models/calibration.toml all follow.
#
# Why not run YuNet on the dlib chips themselves (the first idea): YuNet's landmarks depend on
# how much context surrounds the face. On a tight 150 x 150 chip they come out spread by about
# 6% (eyes ~3 px lower and further apart: right eye (46.7, 47.7), left eye (106.4, 48.2)) than
# for the same face in a full frame, which is what the kiosk feeds YuNet. On 299 LFW faces the
# chip-derived template gave a mean cosine of 0.9889 to dlib-chip descriptors, this one 0.9917.
CHIP_TEMPLATE_YUNET: NDArray[np.float32] = np.array(
    [
        [46.668, 44.608],  # right eye (image left)
        [103.226, 45.530],  # left eye
        [75.218, 77.496],  # nose tip
        [50.663, 101.761],  # right mouth corner
        [98.691, 102.362],  # left mouth corner
    ],
    dtype=np.float32,
)

# dlib shrinks the image with a 2x pyramid before warping when the chip would otherwise
# sample the face at less than half its resolution (bilinear sampling alone would alias).
# cv2.pyrDown is the same kind of 5-tap Gaussian 2x reduction.
_PYRAMID_BELOW_SCALE = 0.5


def _check_inputs(image_rgb: NDArray[np.uint8], landmarks5: NDArray[np.floating]) -> None:
    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise InputError(
            f"align_chip needs an H x W x 3 uint8 image, got {image_rgb.dtype} {image_rgb.shape}.",
            "Convert grey frames to 3 channels first (cv2.cvtColor).",
        )
    if landmarks5.shape != (5, 2) or not np.all(np.isfinite(landmarks5)):
        raise InputError(
            f"align_chip needs 5 finite (x, y) landmarks in YuNet order, got shape {landmarks5.shape}.",
            "Pass Face.landmarks (faces[i, 4:14].reshape(5, 2) of cv2.FaceDetectorYN.detect).",
        )


def similarity_to_template(landmarks5: NDArray[np.floating]) -> NDArray[np.float64]:
    """2 x 3 image -> chip matrix: least-squares similarity of landmarks5 to the template."""
    import cv2  # heavy import kept out of module import time

    src = np.ascontiguousarray(landmarks5, dtype=np.float32)
    # RANSAC with an unreachable reprojection threshold keeps all 5 points as inliers, so the
    # result is the least-squares similarity (then refined by Levenberg-Marquardt); the
    # robust variants would drop a landmark and make the chip jump between frames.
    matrix, _ = cv2.estimateAffinePartial2D(
        src, CHIP_TEMPLATE_YUNET, method=cv2.RANSAC, ransacReprojThreshold=1e6, refineIters=50
    )
    if matrix is None:
        raise InputError(
            "The 5 landmarks are degenerate (they coincide), so no face chip can be made.",
            "Skip this detection; the quality gate should have rejected it.",
        )
    return np.asarray(matrix, dtype=np.float64)


def align_chip(image_rgb: NDArray[np.uint8], landmarks5: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Cut a 150 x 150 chip laid out like dlib's get_face_chip(size=150, padding=0.25).

    ``landmarks5`` is 5 x 2 (x, y) in image pixels, in cv2.FaceDetectorYN's order: right eye,
    left eye, nose tip, right mouth corner, left mouth corner. Pixels outside the image are
    black, as in dlib. The warp keeps the channel order: the embedder wants RGB, so pass an RGB
    image, or flip the chip of a BGR frame (``chip[..., ::-1]``, cheaper than converting the
    whole frame).
    """
    import cv2

    _check_inputs(image_rgb, landmarks5)
    matrix = similarity_to_template(landmarks5)
    image = image_rgb
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))  # chip pixels per image pixel
    while scale < _PYRAMID_BELOW_SCALE and min(image.shape[:2]) >= 4:
        # pyrDown maps pixel 2i to i, so image coordinates halve and the matrix that reads
        # the smaller image is the old one times 2 on its linear part.
        image = np.asarray(cv2.pyrDown(image), dtype=np.uint8)
        matrix[:, :2] *= 2.0
        scale *= 2.0
    chip = cv2.warpAffine(
        image,
        matrix,
        (CHIP_SIZE, CHIP_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    return np.ascontiguousarray(chip, dtype=np.uint8)
