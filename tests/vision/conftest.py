"""Shared data for the vision tests: real dataset faces and the real models, read in place.

Tests that need the shared datasets or the built embedder skip with the reason when those are absent
(ops/setup.sh builds the models, so in CI they run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.paths import models_build_dir, shared_dir
from core.types import Image
from device.config.device import RecognitionSection
from device.vision.detector import YuNetDetector

FACES = shared_dir() / "datasets" / "faces"
YUNET = shared_dir() / "models-src" / "yunet" / "yunet_s_640_640.onnx"
EMBEDDERS = [models_build_dir() / "dlib_resnet_v1.onnx", models_build_dir() / "dlib_resnet_v1_int8.onnx"]

needs_faces = pytest.mark.skipif(
    not (FACES.is_dir() and YUNET.is_file()),
    reason=f"shared face data and models not found under {shared_dir()} (set EDGEHR_SHARED)",
)
needs_embedder = pytest.mark.skipif(
    not all(p.is_file() for p in EMBEDDERS),
    reason=f"{models_build_dir()} has no built embedder: run `python models/build.py` (ops/setup.sh does)",
)

LFW_SAMPLES = [
    "Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
    "Aaron_Sorkin/Aaron_Sorkin_0001.jpg",
    "Abdullah/Abdullah_0001.jpg",
    "Abel_Pacheco/Abel_Pacheco_0001.jpg",
    "AJ_Cook/AJ_Cook_0001.jpg",
]


def face_image(relative: str) -> Image:
    from core.images import load_image

    return load_image(FACES / relative)


@pytest.fixture(scope="session")
def detector() -> YuNetDetector:
    return YuNetDetector()


@pytest.fixture
def cfg() -> RecognitionSection:
    return RecognitionSection()


def lfw(relative: str) -> Path:
    return FACES / "lfw-dev" / relative
