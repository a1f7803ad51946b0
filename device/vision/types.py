"""The values that pass between the vision stages; each stage is a small class behind a Protocol.

Images are numpy arrays in OpenCV's convention: H x W x 3, uint8, BGR (greyscale inputs are converted
at the boundary). Embeddings are float32, L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.types import Image, Vector

__all__ = ["QUALITY_REASONS", "Detector", "Face", "Image", "LivenessModel", "Match", "QualityVerdict", "Vector"]


@dataclass(frozen=True)
class Face:
    """One detected face. ``landmarks`` is 5 x 2 in YuNet's order: right eye, left eye, nose tip,
    right mouth corner, left mouth corner ("right" = the person's right, on the image's left)."""

    box: tuple[float, float, float, float]  # x, y, width, height in image pixels
    landmarks: npt.NDArray[np.float32]
    score: float


class Detector(Protocol):
    name: str
    version: str

    def detect(self, image: Image) -> list[Face]:
        """Faces in the image, most confident first."""
        ...


#: Reason codes of the quality gate; screens translate them (i18n keys "quality.<code>").
QUALITY_REASONS = ("no-face", "many-faces", "too-small", "blurred", "too-dark", "too-bright", "turned",
                   "cut-off")


@dataclass(frozen=True)
class QualityVerdict:
    ok: bool
    reason: str | None  # one of QUALITY_REASONS when not ok
    measures: dict[str, float] = field(default_factory=dict)


class LivenessModel(Protocol):
    name: str
    version: str

    def probability_real(self, image: Image, face: Face) -> float:
        """Probability in [0, 1] that the face is a live person, not a print or a screen."""
        ...


@dataclass(frozen=True)
class Match:
    """Result of a 1:N search: the best person, their score and the best other person's score.

    ``lookalike`` is set when the best person reached the threshold but another person scored within the
    margin of them: a look-alike, for whom the kiosk asks for a second look instead of saying "unknown".
    """

    employee_no: str | None
    score: float
    runner_up: float
    accepted: bool
    lookalike: bool = False
