"""Build exactly the recogniser the config names for a language; never a silent fallback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import InputError
from device.interview.asr.engine import AsrEngine

if TYPE_CHECKING:
    from device.config.device import AsrSection

LANGUAGES = ("en", "zh")


def open_engine(config: AsrSection, language: str, *, engine: str | None = None) -> AsrEngine:
    """The recogniser for ``language`` (``engine`` overrides the config's choice, e.g. for benches)."""
    if language not in LANGUAGES:
        raise InputError(f"language {language!r} has no recogniser.", f"Use one of: {', '.join(LANGUAGES)}.")
    kind = engine or (config.engine_en if language == "en" else config.engine_zh)
    if kind == "moonshine":
        if language != "en":
            raise InputError("Moonshine base recognises English only.", "Use engine whisper for Mandarin.")
        from device.interview.asr.moonshine import MoonshineEngine

        return MoonshineEngine(threads=config.threads, max_segment_seconds=config.moonshine_max_segment_seconds)
    if kind == "whisper":
        from device.interview.asr.whisper import ZH_PROMPT, WhisperEngine

        return WhisperEngine(
            language,
            threads=config.threads,
            compute_type=config.whisper_compute_type,
            beam_size=config.whisper_beam_size,
            initial_prompt=ZH_PROMPT if language == "zh" else None,
            # The shortened window was measured on Mandarin only (edgehr bench asr); English keeps 30 s.
            window_padding_seconds=config.whisper_window_padding_seconds if language == "zh" else None,
            temperature_fallback=config.whisper_temperature_fallback,
        )
    if kind == "vosk":
        from device.interview.asr.vosk_engine import VoskEngine

        folder = config.vosk_model_en if language == "en" else config.vosk_model_zh
        if folder is None:
            raise InputError(f"engine vosk for {language} needs asr.vosk_model_{language}.",
                             "Name the folder of a Vosk model in the config.")
        return VoskEngine(folder, language)
    if kind == "fake":
        from device.interview.asr.fake import FakeEngine

        return FakeEngine(language)
    raise InputError(f"unknown speech engine {kind!r}.", "Use moonshine, whisper, vosk or fake.")
