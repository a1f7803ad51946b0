"""Face embedders: 150 x 150 RGB face chips in, L2-normalised 128-d vectors out.

Every embedder returns unit vectors, so the cosine similarity of two faces is their dot
product and the gallery compares faces with one threshold on that similarity (set from the
accuracy measured by models/parity.py). dlib's own "same person" rule, Euclidean distance
<= 0.6 between its RAW, unnormalised descriptors, is deliberately NOT used: it does not carry
over to normalised vectors, and an int8 model shifts raw norms slightly.

Chips are made by device.vision.alignment.align_chip (dlib's chip layout, without dlib).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from core.errors import InputError, ModelError
from device.vision.model_files import file_sha256
from device.vision.onnx_runtime import session

if TYPE_CHECKING:
    import onnxruntime

CHIP_SIZE = 150
EMBEDDING_DIM = 128

Chips = NDArray[np.uint8]  # N x 150 x 150 x 3, RGB
Embeddings = NDArray[np.float32]  # N x 128, rows of unit length


class Embedder(Protocol):
    """Turns aligned face chips into unit-length embeddings (cosine similarity = dot product)."""

    name: str
    version: str  # changes whenever the embedding space may change: re-enrol the gallery

    def embed(self, chips: Chips) -> Embeddings:
        """chips: N x 150 x 150 x 3 uint8 RGB. Returns N x 128 float32, each row L2-normalised."""
        ...


def check_chips(chips: NDArray[np.generic]) -> Chips:
    """Validate the embedder input at the boundary, with a message that says what to pass."""
    if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise InputError(
            f"Embedder input must be N x {CHIP_SIZE} x {CHIP_SIZE} x 3 uint8 RGB chips, "
            f"got {chips.dtype} {chips.shape}.",
            "Make chips with device.vision.alignment.align_chip and stack them with np.stack.",
        )
    return chips.view(np.uint8)


def l2_normalise(vectors: NDArray[np.floating]) -> Embeddings:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms <= 1e-12) or not np.all(np.isfinite(norms)):
        # A real network never outputs a zero or non-finite descriptor; if it does, the model
        # file is broken and a silent division would enrol garbage into the gallery.
        raise ModelError(
            "The embedder produced a zero or non-finite vector, so its model file is broken.",
            "Rebuild and verify the models with `python models/build.py`.",
        )
    return np.asarray(vectors / norms, dtype=np.float32)




class OnnxEmbedder:
    """dlib's face ResNet converted to ONNX (float32 or int8), run in ONNX Runtime on the CPU.

    The model takes N x 3 x 150 x 150 float32 RGB in 0..255 (dlib's mean subtraction and
    scaling are folded into its first convolution) and returns dlib's raw descriptors.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        name: str | None = None,
        expected_sha256: str | None = None,
        intra_op_threads: int = 1,
    ) -> None:
        if not model_path.is_file():
            raise ModelError(f"Embedder model {model_path} not found.", "Build it with `python models/build.py`.")
        digest = file_sha256(model_path)
        if expected_sha256 is not None and digest != expected_sha256:
            raise ModelError(
                f"Embedder model {model_path} has sha256 {digest}, the manifest expects {expected_sha256}.",
                "Rebuild it with `python models/build.py`.",
            )
        # One intra-op thread by default: the kiosk runs the detector, liveness and this model
        # one after another on a 4-core Pi, so each model keeps to one core instead of all of them
        # spinning up thread pools that compete; raise it for batch enrolment.
        self._session: onnxruntime.InferenceSession = session(str(model_path), intra_op_threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1 or list(inputs[0].shape[1:]) != [3, CHIP_SIZE, CHIP_SIZE]:
            raise ModelError(
                f"{model_path} is not a 3 x {CHIP_SIZE} x {CHIP_SIZE} -> {EMBEDDING_DIM} embedder.",
                "Point the embedder at the model built by `python models/build.py`.",
            )
        self._input = str(inputs[0].name)
        self._output = str(outputs[0].name)
        self.name = name or model_path.stem
        # The file hash identifies the embedding space exactly: float32 and int8 files differ.
        self.version = digest[:16]

    def embed(self, chips: Chips) -> Embeddings:
        batch = check_chips(chips)
        if batch.shape[0] == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
        (raw,) = self._session.run([self._output], {self._input: x})
        return l2_normalise(np.asarray(raw, dtype=np.float32))


class FakeEmbedder:
    """FAKE embedder for tests; never a fallback. Chosen only explicitly (config or test code).

    Each chip's embedding is a unit vector drawn from a generator seeded with the sha256 of its
    pixels: identical chips give identical embeddings, any changed pixel gives an unrelated
    one. It knows nothing about faces.
    """

    name = "fake"
    version = "fake-sha256-1"

    def embed(self, chips: Chips) -> Embeddings:
        batch = check_chips(chips)
        rows = []
        for chip in batch:
            seed = int.from_bytes(hashlib.sha256(chip.tobytes()).digest()[:8], "little")
            rows.append(np.random.default_rng(seed).standard_normal(EMBEDDING_DIM))
        if not rows:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return l2_normalise(np.stack(rows))
