"""The one speech-recognition interface every engine implements, and a stream for non-streaming engines.

An engine takes 16 kHz mono float32 audio (see device.interview.audio). ``transcribe`` turns a whole
answer into text; ``stream`` returns a :class:`RecognizerStream` that is fed chunks as they are recorded,
gives a partial transcript at any time and the final text at the end. Engines that decode incrementally
(Vosk) stream natively; the others get :class:`BufferedStream`, which re-decodes what it holds at most
every ``partial_every`` seconds of new audio, so a booth screen still shows live text.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from device.interview.audio import SAMPLE_RATE, Floats


class RecognizerStream(Protocol):
    def feed(self, samples: Floats) -> None:
        """Append 16 kHz mono float32 samples (any chunk size)."""
        ...

    def partial(self) -> str:
        """Text recognised so far (may change as more audio arrives)."""
        ...

    def finish(self) -> str:
        """The final text of everything fed; the stream takes no more audio afterwards."""
        ...


class AsrEngine(Protocol):
    #: Short id reported with every transcript, e.g. "moonshine-base-en".
    name: str
    #: "en", "zh", ... (what the model recognises).
    language: str
    #: True where partial text comes from the engine's own incremental decoding.
    streaming: bool

    def transcribe(self, samples: Floats) -> str:
        """Text of a whole recording (16 kHz mono float32); "" when nothing was recognised."""
        ...

    def stream(self) -> RecognizerStream: ...


class BufferedStream:
    """A stream over an engine that decodes whole recordings: partials re-decode the buffer, throttled."""

    def __init__(self, engine: AsrEngine, *, partial_every: float = 2.0) -> None:
        self._engine = engine
        self._chunks: list[Floats] = []
        self._count = 0
        self._decoded_at = 0
        self._partial = ""
        self._every = int(partial_every * SAMPLE_RATE)
        self._finished = False

    def feed(self, samples: Floats) -> None:
        if self._finished:
            raise RuntimeError("this stream is finished; start a new one")
        self._chunks.append(np.asarray(samples, dtype=np.float32))
        self._count += int(samples.shape[0])

    def _audio(self) -> Floats:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.float32)

    def partial(self) -> str:
        if self._count - self._decoded_at >= self._every:
            self._partial = self._engine.transcribe(self._audio())
            self._decoded_at = self._count
        return self._partial

    def finish(self) -> str:
        self._finished = True
        return self._engine.transcribe(self._audio()) if self._count else ""
