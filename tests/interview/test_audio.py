"""Audio hygiene: any rate and channel count in, 16 kHz mono out; bad audio gets a clear message and code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from device.interview.audio import SAMPLE_RATE, Audio, check_level, load_audio, segments, trim, voice_regions
from tests.interview.conftest import JFK_FLAC, JFK_WAV, LJ, needs_speech, read_audio, write_audio

pytestmark = needs_speech


def test_wav_flac_any_rate_become_16k_mono() -> None:
    flac = load_audio(JFK_FLAC)  # 44.1 kHz stereo
    assert (flac.source_rate, flac.source_channels) == (44100, 2)
    assert flac.samples.dtype == np.float32 and flac.samples.ndim == 1
    assert flac.seconds == pytest.approx(11.0, abs=0.01)
    lj = load_audio(LJ)  # 22.05 kHz mono
    assert lj.source_rate == 22050 and lj.seconds == pytest.approx(1.9, abs=0.2)
    wav = load_audio(JFK_WAV)
    assert wav.source_rate == SAMPLE_RATE and wav.samples.shape[0] == 176000
    assert check_level(wav).warnings == []


def test_8khz_input_is_converted(tmp_path: Path) -> None:
    samples, _ = read_audio(JFK_WAV)
    path = write_audio(tmp_path / "phone.wav", samples[::2], 8000)
    audio = load_audio(path)
    assert audio.source_rate == 8000 and audio.seconds == pytest.approx(11.0, abs=0.01)
    check_level(audio)  # speech, not refused


def _refused(path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        check_level(load_audio(path))
    return caught.value


def test_silence_is_we_could_not_hear_you(tmp_path: Path) -> None:
    error = _refused(write_audio(tmp_path / "silence.wav", np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE))
    assert error.code == "audio-silent" and "could not hear you" in str(error)
    noise = np.random.default_rng(1).normal(0, 0.01, 3 * SAMPLE_RATE).astype(np.float32)
    assert _refused(write_audio(tmp_path / "hiss.wav", noise, SAMPLE_RATE)).code == "audio-silent"


def test_too_quiet_and_clipped(tmp_path: Path) -> None:
    samples, rate = read_audio(JFK_WAV)
    quiet = _refused(write_audio(tmp_path / "quiet.wav", samples * 0.003, rate))
    assert quiet.code == "audio-too-quiet" and "could not hear you" in str(quiet)
    clipped = _refused(write_audio(tmp_path / "clipped.wav", np.clip(samples * 30, -1, 1), rate))
    assert clipped.code == "audio-clipped" and "input gain" in str(clipped)
    lightly = np.clip(samples * 1.6, -1, 1)  # a few peaks cut: a warning, not a refusal
    report = check_level(load_audio(write_audio(tmp_path / "light.wav", lightly, rate)))
    assert report.warnings and report.warnings[0].startswith("clipped")


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"this is a text file, not audio\n" * 20, "audio-format"),
        (b"", "audio-format"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(20), "audio-format"),
    ],
)
def test_not_audio(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "answer.wav"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load_audio(path)
    assert caught.value.code == code and "answer.wav" in str(caught.value)


def test_truncated_and_missing(tmp_path: Path) -> None:
    data = JFK_WAV.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as caught:
        load_audio(cut)
    assert caught.value.code == "audio-corrupt" and "truncated" in str(caught.value)
    with pytest.raises(InputError) as caught:
        load_audio(tmp_path / "nothing.wav")
    assert caught.value.code == "audio-unreadable"


def test_too_long_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_audio(JFK_WAV, max_seconds=5)
    assert caught.value.code == "audio-too-long"


def test_voice_trimming_and_segments() -> None:
    speech = load_audio(JFK_WAV).samples
    padded = np.concatenate([np.zeros(2 * SAMPLE_RATE, np.float32), speech, np.zeros(3 * SAMPLE_RATE, np.float32)])
    trimmed = trim(padded)
    assert speech.shape[0] - SAMPLE_RATE < trimmed.shape[0] <= speech.shape[0] + SAMPLE_RATE // 2
    regions = voice_regions(padded)
    assert regions[0][0] >= 2 * SAMPLE_RATE - SAMPLE_RATE // 4
    pieces = segments(speech, max_seconds=4.0)
    assert len(pieces) >= 3 and all(p.shape[0] <= 4 * SAMPLE_RATE for p in pieces)
    assert sum(p.shape[0] for p in pieces) > 0.7 * speech.shape[0]
    assert trim(np.zeros(SAMPLE_RATE, np.float32)).shape[0] == SAMPLE_RATE  # nothing voiced: kept whole
    assert Audio(speech, 16000, 1).seconds == pytest.approx(11.0)
