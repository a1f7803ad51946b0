"""A fake recogniser for tests and the demo's screens only: chosen solely by ``asr.engine = "fake"``."""

from __future__ import annotations

from device.interview.asr.engine import BufferedStream, RecognizerStream
from device.interview.audio import SAMPLE_RATE, Floats


class FakeEngine:
    """Returns ``text`` for any audio (or "<N.N s of audio>" when ``text`` is empty); loads nothing."""

    streaming = False

    def __init__(self, language: str = "en", text: str = "") -> None:
        self.name = "fake"
        self.language = language
        self.text = text

    def transcribe(self, samples: Floats) -> str:
        return self.text or f"<{samples.shape[0] / SAMPLE_RATE:.1f} s of audio>"

    def stream(self) -> RecognizerStream:
        return BufferedStream(self)
