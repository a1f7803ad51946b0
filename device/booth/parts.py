"""What a booth is built from: its question banks, its recognisers (loaded once per language) and a
microphone opened per answer.

With ``microphone.source = "wav"`` and ``microphone.path`` a folder, each answer replays the folder's next
WAV file in name order (the demo and tests answer question after question that way); a single file is
replayed for every answer.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import sys
import threading
import wave
from pathlib import Path

from core.errors import InputError
from device.config.booth import AsrSection, MicrophoneSection
from device.hardware.microphone import Microphone, open_microphone
from device.interview.asr.engine import AsrEngine
from device.interview.bank import Bank, load_bank, shipped_banks

log = logging.getLogger(__name__)


class BankShelf:
    """The booth's question banks by ``bank_id`` (the candidate list's ``question_bank_id``)."""

    def __init__(self, banks: dict[str, Bank]) -> None:
        self.banks = banks

    @classmethod
    def load(cls, folder: Path | None) -> BankShelf:
        files = sorted(folder.glob("*.toml")) if folder is not None else shipped_banks()
        banks: dict[str, Bank] = {}
        for path in files:
            bank = load_bank(path)
            if bank.bank_id in banks:
                raise InputError(f"{path}: bank_id {bank.bank_id!r} is used by two bank files.",
                                  "Give every bank file its own bank_id.")
            banks[bank.bank_id] = bank
        return cls(banks)

    def get(self, bank_id: str) -> Bank | None:
        return self.banks.get(bank_id)


class EngineCache:
    """The recogniser of the language being interviewed in, loaded on first use (or ahead, by ``preload``
    on a thread). One language's recogniser at a time: a session in the other language drops it before
    loading its own (a booth interviews one candidate at a time, and both recognisers together would pass
    the booth's memory budget: `edgehr bench interview --booth-memory`). The switch costs a load of a few
    seconds at consent, while the first question is being read."""

    def __init__(self, config: AsrSection, engine: str | None = None) -> None:
        self._config = config
        self._engine = engine
        self._engines: dict[str, AsrEngine] = {}
        self._lock = threading.Lock()

    def get(self, language: str) -> AsrEngine:
        with self._lock:
            if language not in self._engines:
                from device.interview.asr.factory import open_engine

                if self._engines:  # the other language's recogniser goes before this one loads
                    self._engines.clear()
                    release_freed_memory()
                self._engines[language] = open_engine(self._config, language, engine=self._engine)
            return self._engines[language]

    def preload(self, language: str) -> threading.Thread:
        def load() -> None:
            try:
                self.get(language)
            except Exception:  # reported again when the first answer needs it
                log.exception("recogniser for %s could not be loaded", language)

        thread = threading.Thread(target=load, name=f"asr-{language}", daemon=True)
        thread.start()
        return thread


def preload_scorer(bank: Bank) -> threading.Thread:
    """Embed ``bank``'s rubric on a thread while the candidate reads the first question."""

    def prepare() -> None:
        try:
            from device.interview.scoring.scorer import prepare_bank

            prepare_bank(bank)
        except Exception:  # scoring loads it again at the end and reports there
            log.exception("scorer could not be prepared for %s", bank.bank_id)

    thread = threading.Thread(target=prepare, name="prepare-scorer", daemon=True)
    thread.start()
    return thread


def release_freed_memory() -> None:
    """Collect, then hand freed heap pages back to the system: glibc keeps a dropped model's memory in its
    arenas otherwise, and the next model would load on top of it (measured: 190 MB kept)."""
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to trim
            log.debug("malloc_trim is not available")


class Microphones:
    """Opens the configured microphone for each answer; (microphone, source sample rate or None)."""

    def __init__(self, config: MicrophoneSection, *, paced: bool = True) -> None:
        self.config = config
        self._paced = paced
        self._next = 0
        self._lock = threading.Lock()

    def replay_files(self) -> list[Path]:
        path = self.config.path
        if self.config.source != "wav" or path is None:
            return []
        return sorted(path.glob("*.wav")) if path.is_dir() else [path]

    def open(self) -> tuple[Microphone, int | None]:
        files = self.replay_files()
        if not files:
            if self.config.source == "wav":
                raise InputError(f"{self.config.path}: no WAV file to replay.", "Put answer recordings there.",
                                 code="microphone-unavailable")
            return open_microphone(self.config, paced=self._paced), None
        with self._lock:
            path = files[self._next % len(files)]
            self._next += 1
        from device.hardware.microphone import WavFileMicrophone

        return WavFileMicrophone(path, paced=self._paced), _wav_rate(path)


def _wav_rate(path: Path) -> int | None:
    try:
        with wave.open(str(path), "rb") as wav:
            return int(wav.getframerate())
    except (wave.Error, EOFError, OSError):
        return None
