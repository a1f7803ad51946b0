"""A second presentation-attack cue, independent of MiniFAS: does the face move like a flat sheet?

A print or a phone screen is a plane. However it is held, tilted or carried, two camera frames of it
differ by a homography (a plane seen from two poses) plus sensor noise. A live head is not flat (nose,
cheeks and ears sit at different depths, so any turn shows parallax) and not rigid (eyes, lips and
jaw move a little even when a person stands still). So the measurement is: align two consecutive face
chips with the best homography (OpenCV's ECC, started from the landmark alignment) and compare what is
left with what sensor noise alone would leave.

``non_planar_motion`` returns that ratio: about 1 for a flat sheet moved rigidly (noise only), clearly
above 1 when the face's surface changed in a way no homography explains. None = no evidence (the
alignment did not converge or the chip holds too little texture to judge).

What it can and cannot see:
- It needs real video: a person's natural micro-motion between frames. The attempt bench's genuine
  appearances (drills.vision.attempt_scenes) are still photos moved rigidly, exactly like its synthetic
  prints, so on that bench the cue sees the same "flat sheet" in both and cannot separate them; on real
  frames of a turning head (ORL's pose series) it does (tests/vision/test_planarity.py).
- A print bent while held, or a video replayed on a screen (which contains a real person's motion), is
  not flat or not still: this cue alone must never accept a face; it can only add evidence to MiniFAS.
- Cost: about 3 ms for the chip and 4 ms for the fit per pair of frames (CPU time, one x86 thread; the
  chip is the embedding's own alignment, so a kiosk could share it).
- The shared data holds no live video to calibrate how much evidence a ratio is worth, so the kiosk's
  decision does not use it yet (see the report of issue 21); it is measured here and by the bench.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from core.types import Image
from device.vision.alignment import align_chip
from device.vision.types import Face

#: Side of the grey chip the homography is fitted on (the 150 px embedding chip, halved).
SIDE = 75
#: Structure, not sensor noise: both chips are smoothed by this Gaussian before they are compared.
SMOOTH_SIGMA = 1.5
#: Std of white noise after a Gaussian of sigma s is sigma_noise / (2 sqrt(pi) s) (its energy is spread).
_NOISE_GAIN = 1.0 / (2.0 * np.sqrt(np.pi) * SMOOTH_SIGMA)
#: Below this texture (std of the smoothed chip, grey levels) the fit says nothing: a blank chip is "flat".
MIN_TEXTURE = 4.0
#: ECC's stopping rule: consecutive frames are already close after the landmark alignment.
ITERATIONS, EPSILON = 30, 1e-4


class AttackCue(Protocol):
    """A presentation-attack measurement over two consecutive frames of one face (None = no evidence)."""

    name: str

    def measure(self, previous: tuple[Image, Face], current: tuple[Image, Face]) -> float | None: ...


def grey_chip(image: Image, face: Face) -> NDArray[np.float32]:
    """The face's embedding chip (landmark-aligned, so rigid shift/roll/scale are mostly gone), grey, SIDE px."""
    import cv2

    chip = align_chip(np.ascontiguousarray(image[..., ::-1]), face.landmarks)
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.resize(grey, (SIDE, SIDE), interpolation=cv2.INTER_AREA), dtype=np.float32)


def noise_sigma(grey: NDArray[np.float32]) -> float:
    """Sensor noise std of an image (Immerkaer 1996: a Laplacian-difference kernel that cancels smooth
    structure; the mean absolute response times sqrt(pi/2)/6 is sigma for white Gaussian noise)."""
    import cv2

    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = cv2.filter2D(grey, cv2.CV_32F, kernel)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2.0) / 6.0 * np.abs(response).mean())


def non_planar_motion(a: NDArray[np.float32], b: NDArray[np.float32]) -> float | None:
    """RMS of what the best homography leaves between chips ``a`` and ``b``, over what their noise would."""
    import cv2

    noise = np.hypot(noise_sigma(a), noise_sigma(b)) * _NOISE_GAIN
    sa = cv2.GaussianBlur(a, (0, 0), SMOOTH_SIGMA)
    sb = cv2.GaussianBlur(b, (0, 0), SMOOTH_SIGMA)
    if min(float(sa.std()), float(sb.std())) < MIN_TEXTURE:
        return None
    warp = np.eye(3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ITERATIONS, EPSILON)
    try:
        _, found = cv2.findTransformECC(sa, sb, warp, cv2.MOTION_HOMOGRAPHY, criteria)
    except cv2.error:
        return None  # did not converge: no evidence either way
    flags = cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP
    aligned = cv2.warpPerspective(sb, np.asarray(found), (SIDE, SIDE), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    # ECC matches zero-mean, unit-norm patches (exposure may change between frames): compare the same way.
    inner = (slice(8, SIDE - 8), slice(8, SIDE - 8))  # borders are extrapolated after the warp
    x, y = sa[inner], aligned[inner]
    y = (y - y.mean()) * (x.std() / max(float(y.std()), 1e-6)) + x.mean()
    residual = float(np.sqrt(np.mean((x - y) ** 2)))
    return float(residual / max(noise, 0.25))


class PlanarMotion:
    """``AttackCue``: non-planar motion of the face between two frames (see module docstring)."""

    name = "planar-motion"

    def measure(self, previous: tuple[Image, Face], current: tuple[Image, Face]) -> float | None:
        return non_planar_motion(grey_chip(*previous), grey_chip(*current))
