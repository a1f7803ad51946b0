"""Microphones: WAV replay of real speech (16 kHz and 22.05 kHz), format checks, the missing sound card."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from core.clock import FakeClock
from core.errors import HardwareError, InputError
from device.config.device import MicrophoneSection
from device.hardware.microphone import (
    SAMPLE_RATE,
    FakeMicrophone,
    PyAudioMicrophone,
    WavFileMicrophone,
    open_microphone,
)
from tests.hardware.conftest import SPEECH, SleepRecorder, need

JFK = SPEECH / "en" / "jfk" / "jfk_16k_mono.wav"
LJ = SPEECH / "en" / "ljspeech" / "LJ001-0001.wav"


def _frames(path: Path) -> tuple[bytes, wave._wave_params]:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes()), wav.getparams()


def _write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def _tone(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 10000).astype("<i2")


def _rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, "<i2").astype(np.float64)[500:-500]  # away from the edges
    return float(np.sqrt(np.mean(samples**2)))


def test_a_16k_mono_wav_is_replayed_byte_for_byte() -> None:
    expected, params = _frames(need(JFK))
    assert params.framerate == SAMPLE_RATE and params.nchannels == 1
    chunks = []
    with WavFileMicrophone(JFK, paced=False) as mic:
        for _ in range(1000):
            chunk = mic.read(1600)
            if not chunk:
                break
            chunks.append(chunk)
        assert mic.status() == "no audio"
        assert mic.read(1600) == b""
    assert all(len(c) == 3200 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 3200
    assert b"".join(chunks) == expected
    assert len(expected) == params.nframes * 2


def test_a_short_last_read_and_looping() -> None:
    expected, params = _frames(need(JFK))
    with WavFileMicrophone(JFK, paced=False, loop=True) as mic:
        head = mic.read(params.nframes - 100)
        wrapped = mic.read(1000)
        assert mic.status() == "ok"
    assert head == expected[: len(head)]
    assert wrapped == expected[-200:] + expected[:1800]


def test_a_22k_recording_is_resampled_to_16k_with_its_duration_kept() -> None:
    _, params = _frames(need(LJ))
    assert params.framerate == 22050
    with WavFileMicrophone(LJ, paced=False) as mic:
        pcm = mic.pcm
    assert len(pcm) // 2 == params.nframes * SAMPLE_RATE // 22050
    assert abs(len(pcm) / 2 / SAMPLE_RATE - params.nframes / 22050) < 1 / SAMPLE_RATE
    assert _rms(pcm) > 100  # still speech, not silence


def test_resampling_keeps_speech_band_tones_and_removes_what_would_alias(tmp_path: Path) -> None:
    kept = WavFileMicrophone(_write_wav(tmp_path / "1k.wav", _tone(1000, 22050), 22050), paced=False).pcm
    samples = np.frombuffer(kept, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    peak_hz = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)[spectrum.argmax()]
    assert abs(peak_hz - 1000) <= 2
    assert _rms(kept) == pytest.approx(10000 / np.sqrt(2), rel=0.01)
    # 10 kHz is above the new 8 kHz Nyquist limit: it must be filtered out, not folded to 6 kHz.
    folded = WavFileMicrophone(_write_wav(tmp_path / "10k.wav", _tone(10000, 22050), 22050), paced=False).pcm
    assert _rms(folded) < 10000 / np.sqrt(2) / 100  # more than 40 dB down


def test_stereo_is_averaged_to_mono(tmp_path: Path) -> None:
    mono, _ = _frames(need(JFK))
    left = np.frombuffer(mono, "<i2")
    same = _write_wav(tmp_path / "same.wav", np.stack([left, left], axis=1), SAMPLE_RATE, channels=2)
    assert WavFileMicrophone(same, paced=False).pcm == mono
    opposite = np.stack([left, (-left.astype(np.int32)).clip(-32768, 32767).astype("<i2")], axis=1)
    cancel = _write_wav(tmp_path / "cancel.wav", opposite, SAMPLE_RATE, channels=2)
    assert np.abs(np.frombuffer(WavFileMicrophone(cancel, paced=False).pcm, "<i2")).max() <= 1


def test_files_that_are_not_16_bit_pcm_wav_are_refused_with_the_format_found(tmp_path: Path) -> None:
    text = tmp_path / "answer.wav"
    text.write_text("this is not audio\n" * 20)
    with pytest.raises(InputError, match="not a usable WAV file") as caught:
        WavFileMicrophone(text)
    assert "ffmpeg" in caught.value.fix
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="not a usable WAV file"):
        WavFileMicrophone(empty)
    eight = _write_wav(tmp_path / "8bit.wav", np.full(1600, 128, np.uint8), SAMPLE_RATE, width=1)
    with pytest.raises(InputError, match="8-bit PCM; 16-bit PCM is needed"):
        WavFileMicrophone(eight)
    four = _write_wav(tmp_path / "4ch.wav", np.zeros((1600, 4), "<i2"), SAMPLE_RATE, channels=4)
    with pytest.raises(InputError, match="4 channels; mono or stereo is needed"):
        WavFileMicrophone(four)
    silent = _write_wav(tmp_path / "nothing.wav", np.zeros(0, "<i2"), SAMPLE_RATE)
    with pytest.raises(InputError, match="holds no audio"):
        WavFileMicrophone(silent)
    with pytest.raises(InputError, match="cannot be read"):
        WavFileMicrophone(tmp_path / "missing.wav")


def test_a_truncated_wav_is_refused(tmp_path: Path) -> None:
    data = need(JFK).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        WavFileMicrophone(cut)


def test_paced_replay_returns_each_chunk_when_it_would_have_been_spoken(
    fake_clock: FakeClock, fake_sleep: SleepRecorder
) -> None:
    start = fake_clock.monotonic_ns()
    with WavFileMicrophone(need(JFK), paced=True, clock=fake_clock, sleep=fake_sleep) as mic:
        for i in range(1, 4):
            assert len(mic.read(1600)) == 3200
            assert fake_clock.monotonic_ns() - start >= i * 100_000_000
    assert fake_sleep.calls == [pytest.approx(0.1)] * 3


def test_fake_microphone_gives_silence_of_the_asked_length() -> None:
    with open_microphone(MicrophoneSection(source="fake"), paced=False) as mic:
        assert isinstance(mic, FakeMicrophone)
        assert mic.read(800) == bytes(1600)
        assert mic.status() == "ok"
        with pytest.raises(ValueError, match="positive"):
            mic.read(0)


def test_open_microphone_builds_the_wav_replay_from_config() -> None:
    with open_microphone(MicrophoneSection(source="wav", path=need(JFK)), paced=False) as mic:
        assert isinstance(mic, WavFileMicrophone)
        assert len(mic.read(160)) == 320


@pytest.mark.skipif(Path("/dev/snd").exists(), reason="this machine has a sound card")
def test_pyaudio_without_a_sound_card_raises_hardware_error() -> None:
    with pytest.raises(HardwareError, match="no microphone") as caught:
        PyAudioMicrophone()
    assert "input devices found: none" in str(caught.value)
    assert "arecord -l" in caught.value.fix
    with pytest.raises(HardwareError, match="input device 3 does not exist"):
        PyAudioMicrophone(3)
    with pytest.raises(HardwareError, match="no microphone"):
        open_microphone(MicrophoneSection(source="pyaudio"))
