"""Audio hygiene for answers: load any WAV/FLAC, 16 kHz mono inside, level checks and voice activity.

- :func:`load_audio` reads WAV, FLAC (and whatever else libsndfile reads) at any sample rate and channel
  count through ``soundfile``, averages channels to mono and converts to 16 kHz with the microphone's
  band-limited resampler. Corrupt, non-audio, empty and over-long files raise InputError with a code.
- :func:`check_level` measures the recording (30 ms frames, level in dBFS) and refuses silence and
  speech too quiet to recognise ("we could not hear you": never a transcript or a score for silence)
  and heavily clipped recordings; light clipping is a warning.
- :func:`voice_regions` is an energy voice-activity detector (adaptive to the noise floor);
  :func:`trim` cuts leading and trailing non-speech; :func:`segments` splits long answers at pauses into
  pieces a recogniser takes in one go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.errors import InputError
from device.hardware.resample import resample_pcm16

SAMPLE_RATE = 16000
#: Longest answer accepted (a booth answer is minutes, not hours).
MAX_SECONDS = 30 * 60
#: Largest file read at all (a 30-minute 48 kHz stereo 24-bit WAV is ~520 MB).
MAX_FILE_BYTES = 600 * 1024 * 1024
FRAME = 480  # 30 ms at 16 kHz
#: Speech must rise this far above the noise floor (dB) to count as voice; less where the level never
#: falls to a noise floor (continuous speech in a noisy room): half the spread between loud and quiet
#: frames, at least 3 dB.
VOICE_MARGIN_DB = 12.0
#: Loud frames (90th percentile) below this level (dBFS): nothing was recorded at all.
SILENT_DBFS = -70.0
#: Mean frame-to-frame level change (dB) below which a recording is a steady hum or hiss, not speech
#: (syllables move speech levels by 1.3-3.4 dB per 30 ms frame in the shared clips; hiss by 0.4).
STEADY_DB = 0.8
#: Frames quieter than this (dBFS) are never voice, whatever the noise floor.
VOICE_FLOOR_DBFS = -55.0
#: Loud speech frames (90th percentile of voiced frames) below this level are too quiet to recognise.
TOO_QUIET_DBFS = -42.0
#: Less voiced audio than this (seconds) is treated as silence.
MIN_VOICE_SECONDS = 0.3
#: Share of samples at full scale that makes a recording unusable / worth a warning.
CLIPPED_ERROR = 0.05
CLIPPED_WARNING = 0.002

Floats = npt.NDArray[np.float32]
_CONVERT_HINT = "Save the answer as WAV or FLAC, e.g. ffmpeg -i IN -ac 1 -ar 16000 OUT.wav"


@dataclass(frozen=True)
class Audio:
    """16 kHz mono float32 samples in [-1, 1] and where they came from."""

    samples: Floats
    source_rate: int
    source_channels: int
    name: str = ""

    @property
    def seconds(self) -> float:
        return float(self.samples.shape[0]) / SAMPLE_RATE


@dataclass(frozen=True)
class LevelReport:
    """What :func:`check_level` measured; ``warnings`` are for the reviewer, never for a score."""

    voiced_seconds: float
    speech_dbfs: float
    noise_dbfs: float
    clipped_share: float
    warnings: list[str] = field(default_factory=list)


def load_audio(path: Path, *, max_seconds: float = MAX_SECONDS) -> Audio:
    """Read ``path`` as 16 kHz mono float32; InputError (code audio-*) names what is wrong."""
    import soundfile  # heavy (libsndfile through cffi): only where audio is read

    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).", "Check the path.",
                         code="audio-unreadable") from exc
    if not path.is_file():
        raise InputError(f"{path}: not a file.", "Give the path of a WAV or FLAC file.", code="audio-unreadable")
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"{name}: {size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB an answer may be.",
            "Cut the recording into shorter files.", code="audio-too-long",
        )
    try:
        info = soundfile.info(str(path))
        if info.frames <= 0 or info.samplerate <= 0:
            raise InputError(f"{name}: the file holds no audio.", "Record the answer again.", code="audio-empty")
        if info.frames > max_seconds * info.samplerate:
            raise InputError(
                f"{name}: {info.frames / info.samplerate:.0f} s of audio, more than the "
                f"{max_seconds:.0f} s an answer may be.",
                "Cut the recording into shorter files.", code="audio-too-long",
            )
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except soundfile.LibsndfileError as exc:
        raise InputError(
            f"{name}: not a readable audio file ({exc.error_string}); WAV or FLAC is needed.", _CONVERT_HINT,
            code="audio-format",
        ) from exc
    except (RuntimeError, ValueError, EOFError) as exc:  # truncated or damaged data inside a valid header
        raise InputError(f"{name}: the audio data is damaged ({exc}).", "Copy or record the file again.",
                         code="audio-corrupt") from exc
    _check_wav_length(path, name)
    if data.shape[0] == 0:
        raise InputError(f"{name}: the file holds no audio.", "Record the answer again.", code="audio-empty")
    channels = int(data.shape[1])
    mono: Floats = data.mean(axis=1, dtype=np.float32) if channels > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise InputError(f"{name}: the audio holds invalid (NaN or infinite) samples.", "Record the answer again.",
                         code="audio-corrupt")
    return Audio(to_16k(mono, int(rate)), int(rate), channels, name)


def _check_wav_length(path: Path, name: str) -> None:
    """A WAV whose data chunk promises more bytes than the file holds was cut short (copy or upload)."""
    with path.open("rb") as f:
        head = f.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    at = 12
    while at + 8 <= len(head):
        chunk, size = head[at : at + 4], int.from_bytes(head[at + 4 : at + 8], "little")
        if chunk == b"data":
            held = path.stat().st_size - (at + 8)
            if size != 0xFFFFFFFF and held < size:
                raise InputError(
                    f"{name}: the file is truncated: its header promises {size:,} bytes of audio, it holds {held:,}.",
                    "Copy or record the file again.", code="audio-corrupt",
                )
            return
        at += 8 + size + (size & 1)


def to_16k(samples: Floats, rate: int) -> Floats:
    """Mono float32 at ``rate`` Hz resampled to 16 kHz (band-limited, see device.hardware.resample)."""
    if rate == SAMPLE_RATE:
        return np.ascontiguousarray(samples, dtype=np.float32)
    pcm = np.clip(np.rint(samples * 32767.0), -32768, 32767).astype(np.int16)
    out: Floats = (resample_pcm16(pcm, rate, SAMPLE_RATE).astype(np.float32) / 32768.0).astype(np.float32)
    return out


def pcm16_to_float(pcm: bytes) -> Floats:
    """16-bit little-endian PCM (what a Microphone delivers) as float32 in [-1, 1]."""
    out: Floats = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    return out


def frame_dbfs(samples: Floats) -> Floats:
    """Level of each 30 ms frame in dBFS (full-scale sine = -3 dBFS; digital silence = -100)."""
    count = samples.shape[0] // FRAME
    if count == 0:
        return np.full(1, -100.0, np.float32)
    frames = samples[: count * FRAME].reshape(count, FRAME).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    out: Floats = (20.0 * np.log10(np.maximum(rms, 1e-5))).astype(np.float32)
    return out


def _voiced(levels: Floats, floor: float = VOICE_FLOOR_DBFS) -> npt.NDArray[np.bool_]:
    noise, loud = float(np.percentile(levels, 10)), float(np.percentile(levels, 90))
    margin = min(VOICE_MARGIN_DB, max(3.0, (loud - noise) / 2))
    threshold = max(noise + margin, floor)
    result: npt.NDArray[np.bool_] = levels > threshold
    return result


def voice_regions(samples: Floats, *, gap_seconds: float = 0.3, pad_seconds: float = 0.2) -> list[tuple[int, int]]:
    """Sample ranges [start, end) holding voice: gaps shorter than ``gap_seconds`` joined, padded each side."""
    levels = frame_dbfs(samples)
    voiced = _voiced(levels)
    regions: list[tuple[int, int]] = []
    max_gap = int(gap_seconds * SAMPLE_RATE / FRAME)
    start: int | None = None
    last = -1
    for i, v in enumerate(voiced.tolist()):
        if not v:
            continue
        if start is None:
            start = i
        elif i - last > max_gap + 1:
            regions.append((start, last + 1))
            start = i
        last = i
    if start is not None:
        regions.append((start, last + 1))
    pad = int(pad_seconds * SAMPLE_RATE)
    n = samples.shape[0]
    return [(max(0, a * FRAME - pad), min(n, b * FRAME + pad)) for a, b in regions if b - a >= 2]


def check_level(audio: Audio) -> LevelReport:
    """Refuse silence, inaudible speech and heavy clipping (InputError); otherwise measure and warn."""
    samples = audio.samples
    levels = frame_dbfs(samples)
    voiced = _voiced(levels, floor=-90.0)  # no absolute floor here: quiet speech is "too quiet", not silence
    voiced_seconds = float(voiced.sum()) * FRAME / SAMPLE_RATE
    noise = float(np.percentile(levels, 10))
    speech = float(np.percentile(levels[voiced], 90)) if voiced.any() else noise
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    clipped = float(np.mean(np.abs(samples) >= 0.99)) if peak >= 0.99 else 0.0
    who = f"{audio.name}: " if audio.name else ""
    if clipped >= CLIPPED_ERROR:
        raise InputError(
            f"{who}the recording is distorted: {clipped:.0%} of samples are clipped at full scale.",
            "Lower the microphone's input gain or speak further from it, then answer again.", code="audio-clipped",
        )
    loud = float(np.percentile(levels, 90))
    steady = levels.shape[0] > 3 and float(np.mean(np.abs(np.diff(levels)))) < STEADY_DB
    if loud < SILENT_DBFS or steady or voiced_seconds < MIN_VOICE_SECONDS:
        why = "only a steady background noise" if steady and loud >= SILENT_DBFS else "no speech"
        raise InputError(
            f"{who}we could not hear you: the recording is silent ({why}, "
            f"peak level {20 * np.log10(max(peak, 1e-5)):.0f} dBFS).",
            "Check that the microphone is connected and not muted, then answer again.", code="audio-silent",
        )
    if speech < TOO_QUIET_DBFS:
        raise InputError(
            f"{who}we could not hear you: speech is too quiet to recognise ({speech:.0f} dBFS; at least "
            f"{TOO_QUIET_DBFS:.0f} is needed).",
            "Speak closer to the microphone or raise its input gain, then answer again.", code="audio-too-quiet",
        )
    warnings = []
    if clipped >= CLIPPED_WARNING:
        warnings.append(f"clipped: {clipped:.1%} of samples at full scale")
    return LevelReport(voiced_seconds, speech, noise, clipped, warnings)


def trim(samples: Floats) -> Floats:
    """``samples`` without leading and trailing non-speech (kept whole when no voice is found)."""
    regions = voice_regions(samples)
    if not regions:
        return samples
    return samples[regions[0][0] : regions[-1][1]]


def segments(samples: Floats, max_seconds: float) -> list[Floats]:
    """Voiced pieces of at most ``max_seconds`` each, cut at pauses (a pause-free stretch is cut hard)."""
    limit = int(max_seconds * SAMPLE_RATE)
    regions = voice_regions(samples)
    pieces: list[tuple[int, int]] = []
    for a, b in regions:
        while b - a > limit:  # no pause to cut at: hard cuts
            pieces.append((a, a + limit))
            a += limit
        if pieces and b - pieces[-1][0] <= limit:
            pieces[-1] = (pieces[-1][0], b)  # the pause between them stays inside the piece
        else:
            pieces.append((a, b))
    return [samples[a:b] for a, b in pieces]
