"""The microphone a booth records answers from: one small Protocol, chosen by ``microphone.source``.

Every microphone delivers 16 kHz mono signed 16-bit little-endian PCM, the format the speech models
take. ``PyAudioMicrophone`` reads a sound card; ``WavFileMicrophone`` replays a recording (converted to
that format at open, or refused with the reason); ``FakeMicrophone`` gives silence, for tests only.
"""

from __future__ import annotations

import logging
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from core.clock import Clock, SystemClock
from core.errors import HardwareError, InputError
from device.hardware.closing import Closable, Closing
from device.hardware.resample import resample_pcm16

if TYPE_CHECKING:
    from device.config.device import MicrophoneSection

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2  # bytes: signed 16-bit
#: Longest recording a WavFileMicrophone loads (it holds the converted audio in memory: 30 min = 58 MB).
MAX_WAV_SECONDS = 30 * 60
_CONVERT_HINT = "Convert it with: ffmpeg -i IN -ac 1 -ar 16000 -c:a pcm_s16le OUT.wav"


class Microphone(Closable, Protocol):
    def read(self, frames: int) -> bytes:
        """``frames`` samples of 16 kHz mono s16le PCM (2 bytes each); fewer, or b"", when a replay ends."""
        ...

    def status(self) -> str:
        """"ok", "no audio" (replay ended) or "error: <what is wrong>"."""
        ...


class _AudioPacer:
    """Returns each read when its last sample would have been captured, as a sound card does.

    Unlike frames, audio is not dropped when the reader falls behind: a sound card buffers it, so the
    reader catches up with reads that return at once.
    """

    def __init__(self, clock: Clock, sleep: Callable[[float], None]) -> None:
        self._clock = clock
        self._sleep = sleep
        self._start: int | None = None
        self._samples = 0

    def wait(self, frames: int) -> None:
        if self._start is None:
            self._start = self._clock.monotonic_ns()
        self._samples += frames
        due = self._start + self._samples * 1_000_000_000 // SAMPLE_RATE
        for _ in range(100):  # a sleep may wake a hair early; re-check a bounded number of times
            now = self._clock.monotonic_ns()
            if now >= due:
                return
            self._sleep((due - now) / 1e9)


def _check_frames(frames: int) -> None:
    if frames <= 0:
        raise ValueError(f"frames to read must be positive, got {frames}")


class PyAudioMicrophone(Closing):
    """A sound-card input through PortAudio (PyAudio), opened at 16 kHz mono 16-bit.

    ``device_index`` None means the system default input. A read that fails (device unplugged) raises
    HardwareError rather than returning silence: a recording with a hole must not pass as an answer.
    """

    def __init__(self, device_index: int | None = None, *, frames_per_chunk: int = 1600) -> None:
        try:
            import pyaudio
        except ImportError as exc:
            raise HardwareError(
                f"microphone.source = 'pyaudio' but PyAudio cannot be imported ({exc}).",
                "Install the system package portaudio19-dev, then `pip install pyaudio` in the venv.",
            ) from exc
        self._pyaudio: Any = pyaudio
        self._audio: Any = pyaudio.PyAudio()
        self._stream: Any = None
        try:
            self._stream = self._open(device_index, frames_per_chunk)
        except BaseException:
            self._audio.terminate()
            raise
        self._status = "ok"

    def _input_devices(self) -> list[str]:
        names = []
        for index in range(self._audio.get_device_count()):
            info = self._audio.get_device_info_by_index(index)
            if int(info.get("maxInputChannels", 0)) > 0:
                names.append(f"{index}: {info.get('name')}")
        return names

    def _open(self, device_index: int | None, frames_per_chunk: int) -> Any:
        which = "the default input device" if device_index is None else f"input device {device_index}"
        found = ", ".join(self._input_devices()) or "none"
        try:
            if device_index is None:
                info = self._audio.get_default_input_device_info()
            else:
                info = self._audio.get_device_info_by_index(device_index)
        except OSError as exc:
            raise HardwareError(
                f"no microphone: {which} does not exist ({exc}); input devices found: {found}.",
                "Plug in a USB microphone (check `arecord -l`), or set microphone.device_index to one of the "
                "devices listed.",
                code="microphone-unavailable",
            ) from exc
        if int(info.get("maxInputChannels", 0)) < 1:
            raise HardwareError(
                f"{which} ({info.get('name')}) has no input channels; input devices found: {found}.",
                "Set microphone.device_index to a device that records.",
                code="microphone-unavailable",
            )
        try:
            return self._audio.open(
                format=self._pyaudio.paInt16,
                channels=1,
                rate=SAMPLE_RATE,
                input=True,
                input_device_index=device_index,
                frames_per_buffer=frames_per_chunk,
            )
        except OSError as exc:
            raise HardwareError(
                f"{which} ({info.get('name')}) cannot record 16 kHz mono 16-bit audio ({exc}).",
                "Use the ALSA 'default' or a 'plughw' device, which convert the rate, or another microphone.",
                code="microphone-unavailable",
            ) from exc

    def read(self, frames: int) -> bytes:
        _check_frames(frames)
        if self._stream is None:
            raise HardwareError("the microphone is closed.", "Open it again before reading.")
        try:
            data: bytes = self._stream.read(frames, exception_on_overflow=False)
        except OSError as exc:
            self._status = f"error: the microphone stopped delivering audio ({exc})"
            raise HardwareError(
                f"the microphone stopped delivering audio ({exc}).", "Check its cable, then record again."
            ) from exc
        self._status = "ok"
        return data

    def status(self) -> str:
        return "error: microphone closed" if self._stream is None else self._status

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop_stream()
            self._stream.close()
            self._stream = None
            self._audio.terminate()


def load_wav_pcm16(path: Path) -> bytes:
    """The audio in a WAV file as 16 kHz mono s16le PCM; InputError names what was found and what is needed.

    Accepts 16-bit PCM, mono or stereo (averaged to mono), at any rate (converted with
    :func:`device.hardware.resample.resample_pcm16`).
    """
    name = path.name
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate, count = wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()
            if width != SAMPLE_WIDTH:
                raise InputError(
                    f"{name}: audio is {8 * width}-bit PCM; 16-bit PCM is needed.", _CONVERT_HINT, code="audio-format"
                )
            if channels not in (1, 2):
                raise InputError(
                    f"{name}: audio has {channels} channels; mono or stereo is needed.", _CONVERT_HINT,
                    code="audio-format",
                )
            if count == 0:
                raise InputError(
                    f"{name}: the WAV file holds no audio.", "Record the answer again.", code="audio-empty"
                )
            if count > MAX_WAV_SECONDS * rate:
                raise InputError(
                    f"{name}: {count / rate / 60:.0f} minutes of audio, more than the {MAX_WAV_SECONDS // 60} "
                    "minutes a replay may hold.",
                    "Cut the recording into shorter files.",
                    code="audio-too-long",
                )
            data = wav.readframes(count)
    except (wave.Error, EOFError) as exc:
        # The wave module raises these for a file that is not RIFF/WAVE, or WAVE that is not integer PCM.
        raise InputError(
            f"{name}: not a usable WAV file ({exc}); 16-bit PCM WAV is needed.", _CONVERT_HINT, code="audio-format"
        ) from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc}).", "Check microphone.path.") from exc
    if len(data) != count * channels * SAMPLE_WIDTH:
        raise InputError(
            f"{name}: the file is truncated: its header promises {count} samples, it holds "
            f"{len(data) // (channels * SAMPLE_WIDTH)}.",
            "Copy or record the file again.",
            code="audio-corrupt",
        )
    samples = np.frombuffer(data, dtype="<i2").reshape(-1, channels)
    mono = samples[:, 0] if channels == 1 else np.rint(samples.astype(np.int32).mean(axis=1)).astype(np.int16)
    if rate != SAMPLE_RATE:
        log.info("%s: converting %d Hz to %d Hz", name, rate, SAMPLE_RATE)
        mono = resample_pcm16(np.ascontiguousarray(mono), rate, SAMPLE_RATE)
    return mono.astype("<i2").tobytes()


class WavFileMicrophone(Closing):
    """Replays a WAV file as if spoken into the microphone: paced to real time unless ``paced=False``."""

    def __init__(
        self,
        path: Path,
        *,
        paced: bool = True,
        loop: bool = False,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.loop = loop
        self.pcm = load_wav_pcm16(self.path)
        self._position = 0
        self._pacer = _AudioPacer(clock or SystemClock(), sleep) if paced else None
        self._closed = False

    def read(self, frames: int) -> bytes:
        _check_frames(frames)
        if self._closed:
            return b""
        wanted = frames * SAMPLE_WIDTH
        chunk = self.pcm[self._position : self._position + wanted]
        self._position += len(chunk)
        if self.loop and len(chunk) < wanted:
            # Wrap around as many times as the chunk needs (a file holds at least one sample).
            rest = wanted - len(chunk)
            whole, self._position = divmod(rest, len(self.pcm))
            chunk += self.pcm * whole + self.pcm[: self._position]
        if chunk and self._pacer is not None:
            self._pacer.wait(len(chunk) // SAMPLE_WIDTH)
        return chunk

    def status(self) -> str:
        if self._closed:
            return "error: microphone closed"
        return "no audio" if self._position >= len(self.pcm) and not self.loop else "ok"

    def close(self) -> None:
        self._closed = True


class FakeMicrophone(Closing):
    """Silence, for tests only; chosen solely by ``microphone.source = "fake"``."""

    def __init__(
        self, *, paced: bool = True, clock: Clock | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._pacer = _AudioPacer(clock or SystemClock(), sleep) if paced else None
        self._closed = False

    def read(self, frames: int) -> bytes:
        _check_frames(frames)
        if self._closed:
            return b""
        if self._pacer is not None:
            self._pacer.wait(frames)
        return bytes(frames * SAMPLE_WIDTH)

    def status(self) -> str:
        return "error: microphone closed" if self._closed else "ok"

    def close(self) -> None:
        self._closed = True


def open_microphone(config: MicrophoneSection, *, paced: bool = True) -> Microphone:
    """Open the microphone ``config.source`` names; HardwareError or InputError says why it cannot."""
    if config.source == "pyaudio":
        return PyAudioMicrophone(config.device_index, frames_per_chunk=config.frames_per_chunk)
    if config.source == "wav":
        assert config.path is not None  # guaranteed by MicrophoneSection's validator
        return WavFileMicrophone(config.path, paced=paced)
    if config.source == "fake":
        return FakeMicrophone(paced=paced)
    raise AssertionError(f"unhandled microphone source {config.source!r}")
