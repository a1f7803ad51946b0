"""One answer file -> checked audio -> text, with the figures a report needs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from device.interview.asr.engine import AsrEngine
from device.interview.audio import check_level, load_audio


@dataclass(frozen=True)
class Transcript:
    path: str
    text: str
    audio_seconds: float
    seconds: float  # decoding time (wall), not counting loading the file
    engine: str
    cpu_seconds: float = 0.0  # CPU time of this process while decoding (benches on a busy machine use it)
    warnings: list[str] = field(default_factory=list)


def transcribe_file(path: Path, engine: AsrEngine) -> Transcript:
    """Transcribe ``path``; InputError (code audio-*) for unreadable, silent, inaudible or clipped audio."""
    audio = load_audio(path)
    report = check_level(audio)
    started, cpu_started = time.perf_counter(), time.process_time()
    text = engine.transcribe(audio.samples)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Transcript(str(path), text, round(audio.seconds, 3), round(took, 3), engine.name, round(cpu, 3),
                      report.warnings)
