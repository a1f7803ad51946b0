"""An interview booth's settings: microphone, speech recognition, and the booth's own flow and retention."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator

from core.config.base import Section, field


class MicrophoneSection(Section):
    source: Literal["pyaudio", "wav", "fake"] = field(
        "pyaudio", "Microphone source", "pyaudio: a sound card; wav: replay a WAV file; fake: silence, tests only."
    )
    device_index: int | None = field(None, "Input device", "PortAudio input device index; empty = system default.")
    path: Path | None = field(None, "WAV file", "File to replay when source = wav.")
    sample_rate: Literal[16000] = field(16000, "Sample rate", "Speech models take 16 kHz mono 16-bit PCM.")
    frames_per_chunk: int = field(1600, "Chunk size", "Samples per read (1600 = 100 ms).", ge=160, le=16000)

    @model_validator(mode="after")
    def _wav_needs_path(self) -> MicrophoneSection:
        if self.source == "wav" and self.path is None:
            raise ValueError("microphone.source = 'wav' needs microphone.path")
        return self


class AsrSection(Section):
    engine_en: Literal["moonshine", "whisper", "vosk", "fake"] = field(
        "moonshine",
        "English recogniser",
        "moonshine: Moonshine base (default, chosen by `edgehr bench asr`); whisper: Whisper base; vosk: the "
        "model in vosk_model_en; fake: fixed text, tests only.",
    )
    engine_zh: Literal["whisper", "vosk", "fake"] = field(
        "whisper",
        "Mandarin recogniser",
        "whisper: Whisper base with Mandarin normalisation (default); vosk: the model in vosk_model_zh; "
        "fake: fixed text, tests only.",
    )
    threads: int = field(1, "Recogniser threads", "CPU threads a recogniser may use (the booth shares 4 cores).",
                         ge=1, le=8)
    whisper_beam_size: int = field(5, "Whisper beam size", "1 = greedy; 3-5 search more widely for a little more time.",
                                   ge=1, le=10)
    whisper_window_padding_seconds: float | None = field(
        3.0, "Whisper encoder window",
        "Mandarin: seconds of silence after the answer in the window Whisper's encoder reads (default 3; chosen by "
        "`edgehr bench asr --setting zh-candidates`: about a quarter of the time for ~1 point of CER); empty = "
        "the full 30 s window Whisper was trained on.",
        ge=1, le=30,
    )
    whisper_temperature_fallback: bool = field(
        True, "Whisper temperature fallback",
        "Decode a window again at higher temperatures when its text looks repetitive or unlikely.",
    )
    whisper_compute_type: Literal["int8", "float32"] = field(
        "int8", "Whisper precision", "int8: quantized at load (default); float32: the reference."
    )
    moonshine_max_segment_seconds: float = field(
        20.0, "Moonshine segment length", "Longer answers are split at pauses into pieces of at most this length.",
        ge=5, le=30,
    )
    vosk_model_en: Path | None = field(None, "Vosk English model", "Folder of a Vosk English model (engine_en=vosk).")
    vosk_model_zh: Path | None = field(None, "Vosk Mandarin model", "Folder of a Vosk Mandarin model (engine_zh=vosk).")

    @model_validator(mode="after")
    def _vosk_needs_model(self) -> AsrSection:
        if self.engine_en == "vosk" and self.vosk_model_en is None:
            raise ValueError("asr.engine_en = 'vosk' needs asr.vosk_model_en")
        if self.engine_zh == "vosk" and self.vosk_model_zh is None:
            raise ValueError("asr.engine_zh = 'vosk' needs asr.vosk_model_zh")
        return self


class BoothSection(Section):
    banks_dir: Path | None = field(
        None, "Question banks folder",
        "Folder of question bank TOML files (bank_id = the candidate list's question_bank_id); empty = the banks "
        "shipped with edgehr.",
    )
    walk_in: bool = field(
        False, "Walk-in registration", "Let a candidate without an HR code register at the booth with their name.",
    )
    walk_in_bank: str = field(
        "", "Walk-in question bank", "bank_id a walk-in candidate is interviewed with (needed when walk_in is on).",
        max_length=64,
    )
    retention_days: int = field(
        30, "Audio retention (days)", "Answer recordings are deleted this many days after the session ended.",
        ge=1, le=365,
    )
    transcript_retention_days: int = field(
        365, "Transcript retention (days)",
        "Transcripts and scores are deleted from the booth this many days after the session ended, once the HR "
        "server has acknowledged the result (the site's policy from the server replaces both retention settings).",
        ge=1, le=3650,
    )
    self_report: bool = field(
        True, "Demographics self-report",
        "After consent, offer the candidate an optional, skippable form of demographic categories for the bias "
        "audit (each with \"prefer not to say\"). Kept apart from the interview; never scored.",
    )
    resume_minutes: int = field(
        30, "Resume window (minutes)",
        "A session interrupted (power cut, restart) may be continued this long; older ones are closed and sent.",
        ge=1, le=1440,
    )
    idle_timeout_seconds: int = field(
        300, "Idle timeout (seconds)",
        "A candidate who gives no input for this long has left: answers already given are kept and sent to HR "
        "flagged session-abandoned, and the screen returns to check-in.",
        ge=30, le=3600,
    )
    identity_check: bool = field(
        False, "Identity check",
        "After consent, compare the candidate's face at the camera with the photo HR registered for them (same "
        "face pipeline and threshold as attendance). The outcome (identity-match, identity-mismatch or "
        "identity-not-checked) is a flag for the reviewer only: never a score, never a refusal to interview.",
    )
    identity_frames: int = field(
        30, "Identity check frames",
        "Camera frames (one every 0.2 s) the identity check reads for a usable face before it gives up and "
        "flags identity-not-checked.",
        ge=1, le=600,
    )
    integrity_camera: bool = field(
        False, "Integrity camera",
        "During answers, check from camera frames that one face is present and it stays the same person. "
        "Flags go to the reviewer only, never into a score; nothing else is inferred from the face.",
    )
    integrity_every_seconds: float = field(
        1.0, "Integrity frame interval", "Seconds between camera frames checked during an answer.", ge=0.2, le=10,
    )

    @model_validator(mode="after")
    def _walk_in_needs_bank(self) -> BoothSection:
        if self.walk_in and not self.walk_in_bank:
            raise ValueError("booth.walk_in = true needs booth.walk_in_bank (the bank a walk-in is asked from)")
        if self.retention_days > self.transcript_retention_days:
            raise ValueError("booth.retention_days must not exceed booth.transcript_retention_days")
        return self
