"""One answer being recorded: microphone -> audio file (appended, fsync'd) + live transcript rows.

The recorder runs on its own thread. Every chunk read from the microphone is appended to the answer's
raw PCM file (16 kHz mono s16le) and fed to the recogniser's stream; at most every ``sync_seconds`` the
file is fsync'd and the partial transcript written as a row, so a power cut loses at most the answer in
progress (and the booth knows how much of it was on disk). The answer ends at the time limit, when the
candidate stops, or when the microphone has no more audio (a replayed file ended). The audio is then
checked (silence, too quiet, clipped: "we could not hear you", never a score) and the final transcript
written with the attempt's status.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.clock import Clock, to_ms
from core.errors import EdgehrError, InputError
from device.hardware.microphone import SAMPLE_RATE, SAMPLE_WIDTH, Microphone
from device.interview.asr.engine import AsrEngine, RecognizerStream
from device.interview.audio import Audio, check_level, pcm16_to_float
from device.store import Store
from device.store import booth_sessions as sessions

log = logging.getLogger(__name__)

#: How often the audio file is fsync'd and a partial transcript row written (seconds of audio).
SYNC_SECONDS = 1.0
#: Below this source rate a replayed recording is telephone quality: transcribed, with a warning shown.
LOW_RATE = 16000


@dataclass
class Take:
    """What the screen shows of the answer being recorded, and its outcome once it ended."""

    answer_id: int
    audio_path: Path
    started_ns: int
    limit_seconds: float
    partial: str = ""
    seconds: float = 0.0
    finished: bool = False
    status: str = "recording"  # then "done" or "refused"
    transcript: str = ""
    error_code: str | None = None
    warnings: list[str] = field(default_factory=list)


class Recorder:
    """Records one take on a thread; ``stop()`` ends it early; ``on_end`` is called once with the take."""

    def __init__(
        self,
        *,
        take: Take,
        microphone: Microphone,
        engine: AsrEngine,
        store: Store,
        clock: Clock,
        source_rate: int | None = None,
        frames_per_chunk: int = 1600,
        on_end: Callable[[Take], None] = lambda take: None,
    ) -> None:
        self.take = take
        self._mic = microphone
        self._engine = engine
        self._store = store
        self._clock = clock
        self._source_rate = source_rate
        self._chunk = frames_per_chunk
        self._on_end = on_end
        self._stop = threading.Event()
        self._stream: RecognizerStream | None = None
        self._thread = threading.Thread(target=self._run, name=f"answer-{take.answer_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        take = self.take
        try:
            pcm = self._record()
            self._conclude(pcm)
        except EdgehrError as exc:
            take.status, take.error_code = "refused", exc.code
            log.warning("answer %s: %s", take.answer_id, exc)
        except Exception:  # a recogniser or disk failure must not leave the screen waiting forever
            log.exception("answer %s failed", take.answer_id)
            take.status, take.error_code = "refused", "recording-failed"
        finally:
            self._mic.close()
            self._save()
            take.finished = True
            self._on_end(take)

    def _record(self) -> bytes:
        take = self.take
        stream = self._stream = self._engine.stream()
        limit_bytes = int(take.limit_seconds * SAMPLE_RATE) * SAMPLE_WIDTH
        sync_bytes = int(SYNC_SECONDS * SAMPLE_RATE) * SAMPLE_WIDTH
        written, synced = 0, 0
        chunks: list[bytes] = []
        with take.audio_path.open("ab") as audio:
            while not self._stop.is_set() and written < limit_bytes:
                data = self._mic.read(min(self._chunk, (limit_bytes - written) // SAMPLE_WIDTH))
                if not data:
                    break  # a replayed recording ended: the answer ends with it
                audio.write(data)
                chunks.append(data)
                written += len(data)
                stream.feed(pcm16_to_float(data))
                take.seconds = written / (SAMPLE_RATE * SAMPLE_WIDTH)
                if written - synced >= sync_bytes:
                    audio.flush()
                    os.fsync(audio.fileno())
                    synced = written
                    take.partial = stream.partial()
                    sessions.add_partial(self._store, take.answer_id, text=take.partial,
                                         audio_ms=int(take.seconds * 1000), audio_bytes=written,
                                         at_ms=to_ms(self._clock.now()))
            audio.flush()
            os.fsync(audio.fileno())
        return b"".join(chunks)

    def _conclude(self, pcm: bytes) -> None:
        take = self.take
        samples = pcm16_to_float(pcm) if pcm else np.zeros(0, np.float32)
        if samples.shape[0] == 0:
            raise InputError("we could not hear you: no audio arrived from the microphone.",
                             "Check the microphone, then answer again.", code="audio-silent")
        report = check_level(Audio(samples, SAMPLE_RATE, 1))
        take.warnings = list(report.warnings)
        if self._source_rate is not None and self._source_rate < LOW_RATE:
            take.warnings.append(f"low-rate: recorded at {self._source_rate} Hz (telephone quality), converted")
        assert self._stream is not None
        take.transcript = self._stream.finish().strip()
        take.partial = take.transcript
        take.status = "done"

    def _save(self) -> None:
        take = self.take
        if take.status == "recording":
            take.status = "refused"
        try:
            size = take.audio_path.stat().st_size
        except OSError:
            size = 0
        sessions.finish_answer(self._store, take.answer_id, status=take.status, transcript=take.transcript,
                               duration_ms=int(take.seconds * 1000), at_ms=to_ms(self._clock.now()),
                               error_code=take.error_code, warnings=take.warnings,
                               source_rate=self._source_rate, audio_bytes=size)
