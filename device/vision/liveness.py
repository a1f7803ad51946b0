"""Passive liveness with MiniFAS (MiniFASNet V2-SE, Apache-2.0) in ONNX Runtime.

Preprocessing reproduces upstream's inference code (github.com/johnraivenolazo/face-antispoof-onnx @
2b9830bb, src/inference/preprocess.py ``crop`` + ``preprocess``, as called by demo.py) step by step,
checked by reading it, and by measurement (``edgehr bench liveness --variants``):
- the box is the detector's, truncated to whole pixels (upstream: ``face[:4].astype(int)``);
- a square of side int(1.5 x max(w, h)) centred on the box, its corner truncated with int(); parts
  outside the image are filled by reflection without repeating the edge pixel (cv2.BORDER_REFLECT_101,
  which numpy calls "reflect");
- resized to 128 x 128: INTER_AREA when shrinking, INTER_LANCZOS4 when enlarging (upstream's
  preprocess; its training crops, scripts/prepare_data.py, used the same pair);
- RGB (upstream converts the camera's BGR frame to RGB before cropping; training read with cv2 and
  converted BGR -> RGB), float32 / 255 into [0, 1], channels first, no mean/std normalisation;
- the output is two logits [real, spoof] (class 0 = real: upstream's spoof_categories [[0], [1..9]],
  CelebA-Spoof label 0 = live). probability_real = softmax(logits)[0] = sigmoid(real - spoof), so
  "live at p" is upstream's rule real - spoof >= log(p / (1 - p)).
A face is live when that probability reaches recognition.liveness_threshold (0.5 = upstream's default;
the product uses 0.9, see device/config/device.py).

The optional active challenge (a head turn) lives in device/attendance/challenge.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from device.errors import InputError, ModelError
from device.paths import shared_dir
from device.vision.model_files import file_sha256
from device.vision.onnx_runtime import session
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


def liveness_crop(image: Image, face: Face, scale: float = CROP_SCALE) -> Image:
    """The square face crop MiniFAS was trained on, as a 128 x 128 BGR image (see module docstring).

    ``scale`` other than 1.5 is for measurements only (``edgehr bench liveness --variants``).
    """
    import cv2

    # Whole-pixel box and truncating int() exactly as upstream, so a crop is the same to the pixel.
    x, y, w, h = (int(v) for v in face.box)
    side = int(max(w, h) * scale)
    if w <= 0 or h <= 0 or side < 2:
        raise InputError("The face box is too small for a liveness check.", "Move closer to the camera.")
    x0 = int(x + w / 2 - max(w, h) * scale / 2)
    y0 = int(y + h / 2 - max(w, h) * scale / 2)
    height, width = image.shape[:2]
    pad_left, pad_top = max(0, -x0), max(0, -y0)
    pad_right, pad_bottom = max(0, x0 + side - width), max(0, y0 + side - height)
    inner = image[max(0, y0):min(height, y0 + side), max(0, x0):min(width, x0 + side)]
    if inner.shape[0] < 2 or inner.shape[1] < 2:
        raise InputError("The face box lies outside the image.", "Skip this detection.")
    if pad_left or pad_top or pad_right or pad_bottom:
        # numpy's "reflect" is OpenCV's BORDER_REFLECT_101; unlike OpenCV it also copes with a pad wider
        # than the image (it keeps reflecting), where copyMakeBorder would fail.
        inner = np.pad(inner, ((pad_top, pad_bottom), (pad_left, pad_right), (0, 0)), mode="reflect")
    interpolation = cv2.INTER_AREA if inner.shape[0] >= INPUT_SIZE else cv2.INTER_LANCZOS4
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
        return self.run(to_input(liveness_crop(image, face)))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Raw [real, spoof] logits of one prepared 1 x 3 x 128 x 128 input (see ``to_input``)."""
        (out,) = self._session.run([self._output], {self._input: batch})
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
