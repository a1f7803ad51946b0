"""Passive liveness with MiniFAS (MiniFASNet V2-SE, Apache-2.0) in LiteRT, float32.

Runtime: the .tflite that models/recipes/onnx_tflite.py builds from upstream's ONNX file at set-up
(models/manifest.toml ``minifas_v2_128_tflite``), run by ai_edge_litert's Interpreter with its default
XNNPACK delegate. Why LiteRT: 9.7 ms against ONNX Runtime's 15.1 ms on one x86 thread with the same
outputs (max difference in P(live) 3.8e-6, no decision changed at 0.9; issue #3). Upstream's int8 ONNX
file is not used: on that x86 it was slower than float32 (18.9 ms) and changed 1.6% of decisions.

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
  converted BGR -> RGB), float32 / 255 into [0, 1], no mean/std normalisation; upstream feeds ONNX
  channels first, the .tflite takes the same values channels last (NHWC), so the crop needs no transpose;
- the output is two logits [real, spoof] (class 0 = real: upstream's spoof_categories [[0], [1..9]],
  CelebA-Spoof label 0 = live). probability_real = softmax(logits)[0] = sigmoid(real - spoof), so
  "live at p" is upstream's rule real - spoof >= log(p / (1 - p)).
A face is live when that probability reaches recognition.liveness_threshold (0.5 = upstream's default;
the product uses 0.9, see device/config/device.py).

The optional active challenge (a head turn) lives in device/attendance/challenge.py.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InputError, ModelError
from core.paths import models_build_dir
from core.types import Image
from device.vision.model_files import file_sha256, manifest_sha256
from device.vision.types import Face

if TYPE_CHECKING:
    from ai_edge_litert.interpreter import Interpreter

INPUT_SIZE = 128
CROP_SCALE = 1.5
#: The model's name in models/manifest.toml and its file in models/build/.
MANIFEST_NAME = "minifas_v2_128_tflite"
MODEL_FILE = "minifas_v2_128.tflite"


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
    """128 x 128 BGR crop -> 1 x 128 x 128 x 3 float32 RGB in [0, 1] (NHWC, the .tflite's layout)."""
    rgb = crop_bgr[..., ::-1].astype(np.float32) / 255.0
    return np.ascontiguousarray(rgb[None])


class MiniFasLiveness:
    """``LivenessModel`` backed by MiniFAS in LiteRT (float32, XNNPACK), one thread by default.

    The model file is models/build/minifas_v2_128.tflite (``$EDGEHR_MODELS``), checked against the sha256
    in models/manifest.toml before it is loaded. ``version`` (recorded on every punch) is
    "litert-float32-" + the first 12 hex digits of that sha256.
    """

    name = "minifas-v2-se"

    def __init__(self, *, model_path: Path | None = None, expected_sha256: str | None = None,
                 threads: int = 1) -> None:
        path = model_path or models_build_dir() / MODEL_FILE
        expected = expected_sha256 or manifest_sha256(MANIFEST_NAME)
        if not path.is_file():
            raise ModelError(
                f"Liveness model {path} not found.",
                "Run `python models/build.py` (ops/setup.sh does) to build it from models-src/minifas, or set "
                "EDGEHR_MODELS to the folder holding it.",
            )
        digest = file_sha256(path)
        if digest != expected:
            raise ModelError(
                f"Liveness model {path} has sha256 {digest}, expected {expected}.",
                "Rebuild it with `python models/build.py` (it checks the result against models/manifest.toml).",
            )
        # Heavy import here: only a terminal that runs liveness pays for LiteRT.
        from ai_edge_litert.interpreter import Interpreter

        # One thread: the Pi's other cores run the detector, the embedder and the screen. The default op
        # resolver applies XNNPACK, where the speed-up over ONNX Runtime comes from.
        self._interpreter: Interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        inputs, outputs = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        if (len(inputs) != 1 or list(inputs[0]["shape"]) != [1, INPUT_SIZE, INPUT_SIZE, 3]
                or inputs[0]["dtype"] != np.float32 or len(outputs) != 1 or list(outputs[0]["shape"]) != [1, 2]):
            raise ModelError(f"{path} is not a 1 x 128 x 128 x 3 -> 2 float32 MiniFAS model.",
                             "Rebuild it with `python models/build.py`.")
        self._input = int(inputs[0]["index"])
        self._output = int(outputs[0]["index"])
        self.version = f"litert-float32-{digest[:12]}"
        self._lock = threading.Lock()

    def logits(self, image: Image, face: Face) -> np.ndarray:
        """Raw [real, spoof] logits of one face."""
        return self.run(to_input(liveness_crop(image, face)))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Raw [real, spoof] logits of one prepared 1 x 128 x 128 x 3 input (see ``to_input``).

        Serialised by a lock: one Interpreter holds one input and one output buffer, and the kiosk loop
        and a panel enrolment from the camera (a server thread) share this instance. Unlike an ONNX
        Runtime session, a LiteRT interpreter raises when a second thread invokes it mid-call."""
        with self._lock:
            self._interpreter.set_tensor(self._input, np.ascontiguousarray(batch, dtype=np.float32))
            self._interpreter.invoke()
            # get_tensor copies: no view into the interpreter's buffers outlives the lock.
            logits = np.asarray(self._interpreter.get_tensor(self._output), dtype=np.float64).reshape(-1)
        if logits.shape != (2,) or not np.all(np.isfinite(logits)):
            raise ModelError("The liveness model returned an output that is not two finite logits.",
                             "Rebuild it with `python models/build.py`.")
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
