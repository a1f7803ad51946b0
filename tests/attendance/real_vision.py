"""Shared helpers of the tests that run the REAL face pipeline on recorded faces.

They need the vision branch (device/vision/pipeline.py, gallery.py) and the built models; until those
are merged, the tests using ``requires_vision`` are skipped with that reason, never faked.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from core.paths import shared_dir

requires_vision = pytest.mark.skipif(
    importlib.util.find_spec("device.vision.pipeline") is None or importlib.util.find_spec("device.vision.gallery")
    is None,
    reason="needs the real face pipeline (vision branch: device/vision/pipeline.py and gallery.py) - not merged yet",
)

FACES = shared_dir() / "datasets" / "faces"
LFW = FACES / "lfw-dev"
CELEB = FACES / "celeb-dev"


def recognition_settings() -> dict[str, float]:
    """Use the product's calibrated threshold (models/calibration.toml) once the vision branch records it;
    until then these tests state a threshold explicitly: 0.9 cosine, below the 0.92-0.97 measured between
    photos of the same LFW person with the int8 embedder here."""
    from device.vision.thresholds import CALIBRATION_FILE

    return {} if CALIBRATION_FILE.is_file() else {"threshold": 0.9}


def lfw_people(*, min_images: int, max_images: int = 1000, count: int) -> list[tuple[str, list[Path]]]:
    """The first ``count`` LFW people (by name) with between min_images and max_images photos."""
    people = []
    for folder in sorted(p for p in LFW.iterdir() if p.is_dir()):
        images = sorted(folder.glob("*.jpg"))
        if min_images <= len(images) <= max_images:
            people.append((folder.name, images))
        if len(people) == count:
            break
    return people


def celeb_identities() -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for line in (CELEB / "labels.csv").read_text().splitlines()[1:]:
        image, identity = line.strip().split(",")
        found.setdefault(identity, []).append(CELEB / image)
    return found
