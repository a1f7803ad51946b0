"""Integrity flags come only from face presence, face count and sameness: never from expression."""

from __future__ import annotations

import numpy as np

from device.booth.integrity import IntegrityWatch
from device.vision.types import Face

FACE = Face((0, 0, 10, 10), np.zeros((5, 2), np.float32), 0.9)
A, B = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)


class Script:
    def __init__(self, frames: list[list[np.ndarray]]) -> None:
        self.frames = frames
        self.at = 0
        self.current: list[np.ndarray] = []

    def faces(self, image: object) -> list[Face]:
        self.current = self.frames[self.at]
        self.at += 1
        return [FACE] * len(self.current)

    def embed_face(self, image: object, face: Face) -> np.ndarray:
        return self.current[0]


def watch(frames: list[list[np.ndarray]]) -> IntegrityWatch:
    w = IntegrityWatch(Script(frames), same_person_threshold=0.5)
    for _ in frames:
        w.observe(np.zeros((4, 4, 3), np.uint8))
    return w


def test_one_steady_face_raises_no_flag() -> None:
    assert watch([[A]] * 10).flags() == []


def test_absent_multiple_and_changed_faces_are_flagged() -> None:
    assert watch([[A]] * 5 + [[]] * 5).flags() == ["face-absent"]
    assert watch([[A]] * 8 + [[A, B]] * 2).flags() == ["multiple-faces"]
    assert watch([[A]] * 8 + [[B]] * 2).flags() == ["different-person"]
    assert watch([[A]] * 9 + [[B]]).flags() == []  # one odd frame is noise
