"""Booth fixtures: a store with a candidate list, the shipped banks, WAV answers replayed unpaced."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from core.clock import Clock, SystemClock
from core.paths import shared_dir
from device.booth.flow import Booth
from device.booth.parts import BankShelf, EngineCache, Microphones
from device.config.booth import AsrSection, BoothSection, MicrophoneSection
from device.interview.asr.engine import AsrEngine
from device.interview.asr.fake import FakeEngine
from device.store import Store, open_store
from device.store import candidates as booth_candidates
from device.store.candidates import BoothCandidate

SPEECH = shared_dir() / "datasets" / "speech" / "en"
JFK = SPEECH / "jfk" / "jfk_16k_mono.wav"
LJ = SPEECH / "ljspeech" / "LJ001-0002.wav"
ANSWER = ("When a customer was angry about a late delivery I listened, apologised, checked the order, "
          "found the parcel was stuck at the depot, arranged a courier the same day and called back; "
          "she thanked us and stayed a customer.")


class FixedEngines(EngineCache):
    """An engine cache that hands out one given engine (fake text or a real engine loaded once)."""

    def __init__(self, engine: AsrEngine) -> None:
        super().__init__(AsrSection())
        self._fixed = engine

    def get(self, language: str) -> AsrEngine:
        return self._fixed


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    import soundfile

    soundfile.write(str(path), samples, rate, subtype="PCM_16")
    return path


def speech_like(seconds: float = 3.0, rate: int = 16000, level: float = 0.3) -> np.ndarray:
    """A voiced test signal with pauses: tones in bursts (heard as voice by the energy detector)."""
    t = np.arange(int(seconds * rate)) / rate
    bursts = (np.sin(2 * np.pi * 1.5 * t) > -0.3).astype(np.float32)
    return (level * np.sin(2 * np.pi * 220 * t) * bursts).astype(np.float32)


def add_candidate(store: Store, candidate_id: str = "C-100", bank: str = "customer-service-en") -> None:
    until = int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)
    with store.transaction() as conn:
        booth_candidates.replace(conn, [BoothCandidate(candidate_id, "Li Wei", "customer-service", bank, until)],
                                 command_seq=1, at_ms=0)


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    folder = tmp_path / "answers"
    folder.mkdir()
    shutil.copy(JFK, folder / "a1.wav")
    shutil.copy(LJ, folder / "a2.wav")
    return folder


def make_booth(store: Store, tmp_path: Path, answers: Path, engine: AsrEngine | None = None,
               settings: BoothSection | None = None, clock: Clock | None = None) -> Booth:
    return Booth(store=store, clock=clock or SystemClock(), shelf=BankShelf.load(None),
                 settings=settings or BoothSection(),
                 engines=FixedEngines(engine or FakeEngine("en", ANSWER)),
                 microphones=Microphones(MicrophoneSection(source="wav", path=answers), paced=False),
                 audio_dir=tmp_path / "audio")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "booth.db", check_same_thread=False)
    add_candidate(s)
    try:
        yield s
    finally:
        s.close()
