"""What the attendance code needs from the other parts, as small Protocols.

The real implementations are the vision pipeline and gallery (device/vision), the GPIO feedback and
IN/OUT buttons (device/hardware/gpio.py); tests of this package's pure logic pass explicit fakes.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.types import Image, Vector
from device.attendance.outcomes import Direction
from device.vision.types import Face, Match, QualityVerdict


class FrameAnalysisView(Protocol):
    """The parts of the vision pipeline's FrameAnalysis the kiosk reads."""

    @property
    def face(self) -> Face | None: ...

    @property
    def quality(self) -> QualityVerdict: ...

    @property
    def liveness(self) -> float | None: ...

    @property
    def embedding(self) -> Vector | None: ...


class Analyser(Protocol):
    def analyse(self, image: Image) -> FrameAnalysisView: ...


class ImageEmbedder(Protocol):
    def embed_image(self, image: Image) -> tuple[Vector | None, str | None]:
        """The largest face's embedding, or (None, quality reason code) when the photo is not usable."""
        ...


class GalleryView(Protocol):
    def search(self, vector: Vector) -> Match: ...

    def verify(self, employee_no: str, vector: Vector) -> Match:
        """1:1: the claimed person's score (accepted only over the threshold and the margin over everyone else)."""
        ...

    def add(self, employee_no: str, vectors: npt.NDArray[np.float32]) -> None:
        """Add templates (N x 128 float32, unit rows) for the person."""
        ...

    def remove(self, employee_no: str) -> object:
        """Forget the person at once (returns whether they were there)."""
        ...


class FeedbackPort(Protocol):
    def accepted(self) -> None: ...

    def rejected(self) -> None: ...


class DirectionSource(Protocol):
    def pending_direction(self) -> Direction | None: ...
