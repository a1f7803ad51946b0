"""The enrolment checks the terminal and the HR server share (device.vision.enrolment_checks)."""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from device.vision.enrolment_checks import outliers, unusable_photo_reason


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_the_face_unlike_the_rest_is_the_outlier() -> None:
    same = [unit(1, 0.1, 0), unit(1, 0, 0.1), unit(1, 0.05, 0.05)]
    assert outliers([*same, unit(0, 1, 0)], 0.5) == [3]
    assert outliers(same, 0.5) == []


def test_no_judgement_without_a_threshold_or_a_majority() -> None:
    assert outliers([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)], None) == []
    assert outliers([unit(1, 0, 0), unit(0, 1, 0)], 0.5) == []


def test_a_decoder_code_becomes_one_of_two_reasons() -> None:
    assert unusable_photo_reason(InputError("big", "smaller", code="image-too-large")) == "too-large"
    assert unusable_photo_reason(InputError("bad", "another", code="image-undecodable")) == "unreadable"
