"""Explicit test doubles for the kiosk's vision inputs: scripted frame analyses and a tiny gallery.

Used only where a test checks the loop's own bookkeeping (store, outbox, counters, buttons, failures);
the end-to-end tests run the real pipeline and gallery on recorded faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.types import Image, Vector
from device.vision.types import Face, Match, QualityVerdict

PEOPLE = ["E1", "E2", "E3"]
BOX = (100.0, 80.0, 120.0, 140.0)


def vector_of(employee_no: str | None) -> Vector:
    """A one-hot embedding per known person; an unknown face gets a vector matching nobody."""
    v = np.zeros(128, dtype=np.float32)
    v[PEOPLE.index(employee_no) if employee_no in PEOPLE else 127] = 1.0
    return v


@dataclass(frozen=True)
class Analysis:
    face: Face | None
    quality: QualityVerdict
    liveness: float | None
    embedding: Vector | None
    timings: dict[str, float] = field(default_factory=dict)


def person(no: str | None, live: float = 0.95) -> Analysis:
    face = Face(BOX, np.zeros((5, 2), np.float32), 0.99)
    return Analysis(face, QualityVerdict(True, None), live, vector_of(no) if live >= 0.5 else None)


def poor(reason: str) -> Analysis:
    return Analysis(Face(BOX, np.zeros((5, 2), np.float32), 0.9), QualityVerdict(False, reason), None, None)


NOBODY = Analysis(None, QualityVerdict(False, "no-face"), None, None)


class ScriptedAnalyser:
    def __init__(self, script: list[Analysis]) -> None:
        self.script = list(script)

    def analyse(self, image: Image) -> Analysis:
        return self.script.pop(0)


class OneHotGallery:
    def __init__(self, enrolled: list[str]) -> None:
        self.enrolled = set(enrolled)

    def search(self, vector: Vector) -> Match:
        index = int(np.argmax(vector))
        no = PEOPLE[index] if index < len(PEOPLE) else None
        if no is None or no not in self.enrolled:
            return Match(None, 0.2, 0.1, False)
        return Match(no, 0.9, 0.2, True)

    def verify(self, employee_no: str, vector: Vector) -> Match:
        """1:1: accepted only when the face is the claimed (enrolled) person's."""
        index = int(np.argmax(vector))
        no = PEOPLE[index] if index < len(PEOPLE) else None
        if employee_no not in self.enrolled:
            return Match(employee_no, -1.0, -1.0, False)
        if no == employee_no:
            return Match(employee_no, 0.9, 0.2, True)
        return Match(employee_no, 0.2, 0.9 if no in self.enrolled else 0.1, False)

    def __contains__(self, employee_no: object) -> bool:
        return employee_no in self.enrolled

    def add(self, employee_no: str, vectors: np.ndarray) -> None:
        self.enrolled.add(employee_no)

    def remove(self, employee_no: str) -> None:
        self.enrolled.discard(employee_no)


class RecordingFeedback:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def accepted(self) -> None:
        self.calls.append("accepted")

    def rejected(self) -> None:
        self.calls.append("rejected")


class Buttons:
    def __init__(self) -> None:
        self.pressed: str | None = None

    def pending_direction(self) -> str | None:
        pressed, self.pressed = self.pressed, None
        return pressed


class ScriptedPipeline(ScriptedAnalyser):
    """Scripted analyses for the kiosk plus a per-photo embedder, as the runner's pipeline slot needs."""

    def embed_image(self, image: Image) -> tuple[Vector | None, str | None]:
        return vector_of("E1"), None


class CountingGallery(OneHotGallery):
    def __len__(self) -> int:
        return len(self.enrolled)
