"""The one speech-recognition interface every engine implements, and a stream for non-streaming engines.

An engine takes 16 kHz mono float32 audio (see device.interview.audio). ``transcribe`` turns a whole
answer into text; ``stream`` returns a :class:`RecognizerStream` that is fed chunks as they are recorded,
gives a partial transcript at any time and the final text at the end. Engines that decode incrementally
(Vosk) stream natively; the others get :class:`BufferedStream`, which re-decodes the open tail of the
answer at most every ``partial_every`` seconds of new audio, so a booth screen still shows live text.
Audio before the last pause once the tail exceeds ``commit_seconds`` is decoded once and kept: a
two-minute answer costs no more per partial than a short one.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from device.interview.audio import SAMPLE_RATE, Floats, voice_regions


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
    """A stream over an engine that decodes whole recordings: partials re-decode the open tail, throttled."""

    def __init__(self, engine: AsrEngine, *, partial_every: float = 2.0, commit_seconds: float = 15.0) -> None:
        self._engine = engine
        self._chunks: list[Floats] = []
        self._count = 0
        self._decoded_at = 0
        self._committed: list[str] = []
        self._commit_at = 0  # samples before this index are decoded for good
        self._tail_text = ""
        self._every = int(partial_every * SAMPLE_RATE)
        self._commit = int(commit_seconds * SAMPLE_RATE)
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

    def _commit_before_last_pause(self, audio: Floats) -> None:
        tail = audio[self._commit_at :]
        if tail.shape[0] < self._commit:
            return
        regions = voice_regions(tail)
        # Cut in the last pause that leaves at least 2 s open; no pause at all: cut at the limit.
        cuts = [end for end, start in zip((r[1] for r in regions), (r[0] for r in regions[1:]), strict=False)
                if end <= tail.shape[0] - 2 * SAMPLE_RATE and start > end]
        cut = cuts[-1] if cuts else self._commit
        text = self._engine.transcribe(tail[:cut])
        if text:
            self._committed.append(text)
        self._commit_at += cut

    def _joined(self, tail_text: str) -> str:
        joiner = "" if self._engine.language in ("zh", "ja") else " "
        return joiner.join(t for t in [*self._committed, tail_text] if t)

    def partial(self) -> str:
        if self._count - self._decoded_at >= self._every:
            audio = self._audio()
            self._commit_before_last_pause(audio)
            self._tail_text = self._engine.transcribe(audio[self._commit_at :])
            self._decoded_at = self._count
        return self._joined(self._tail_text)

    def finish(self) -> str:
        self._finished = True
        if not self._count:
            return ""
        return self._joined(self._engine.transcribe(self._audio()[self._commit_at :]))
