"""Face detection with YuNet (libfacedetection, Apache-2.0), run in ONNX Runtime.

YuNet gives a box and 5 landmarks per face, which is all the quality gate, the liveness crop and the
chip alignment need. It finds a face in 100% of ORL, Yale, celeb-dev and LFW images with the sizing
below (tests/vision/test_detector.py checks it on every image).

The model file is OpenCV Zoo's face_detection_yunet_2023mar.onnx, checked by sha256. It used to run in
``cv2.FaceDetectorYN``; ONNX Runtime runs the same network 1.8x faster on one x86 thread (640 x 480: 22
instead of 40 ms; 320 x 240: 5.5 instead of 10 ms; measured by ``edgehr bench faces``),
so the network runs there and ``decode_yunet`` below does FaceDetectorYN's post-processing (OpenCV's
modules/objdetect/src/face_detect.cpp: pad to a multiple of 32, per-stride decode, NMS on integer boxes).
tests/vision/test_detector.py checks that both give the same faces on real images.

Any input size works: a big photo is shrunk so its longest side is ``max_side`` (detection cost grows
with pixels, faces in a 12 MP photo are huge), a small one (ORL is 92 x 112, the face fills the frame)
gets a black border first — YuNet misses faces that touch the frame edge — and is enlarged to
``min_side``. Boxes and landmarks are mapped back to the caller's pixels.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from core.errors import InputError, ModelError
from core.paths import shared_dir
from core.types import Image
from device.vision.onnx_runtime import session
from device.vision.types import Face

if TYPE_CHECKING:
    import onnxruntime

YUNET_FILE = "models-src/yunet/yunet_s_640_640.onnx"
#: sha256 from ../shared/models-src/SOURCES.md (= OpenCV Zoo's face_detection_yunet_2023mar.onnx).
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
#: YuNet's output heads, in the order decode_yunet reads them (three strides each).
YUNET_OUTPUTS = ("cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32",
                 "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32")
STRIDES = (8, 16, 32)
#: The network's input is padded (bottom, right, black) to a multiple of this.
DIVISOR = 32
TOP_K = 5000


def default_yunet_path() -> Path:
    return shared_dir() / YUNET_FILE


def _free_input_size(model_bytes: bytes) -> bytes:
    """The model with its height and width made symbolic: the file is exported for 640 x 640 only, which
    ONNX Runtime would enforce, while the network itself is fully convolutional (any multiple of 32)."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"  # dim_param replaces dim_value (a oneof)
    for output in model.graph.output:
        # N x anchors x k: the anchor count follows the input size.
        output.type.tensor_type.shape.dim[1].dim_param = f"{output.name}_anchors"
    # The export also records 640 x 640 shapes for inner tensors; they are hints only, and ONNX Runtime
    # would warn on every call that they do not match.
    del model.graph.value_info[:]
    return bytes(model.SerializeToString())


def decode_yunet(outputs: dict[str, NDArray[np.float32]], pad_w: int, pad_h: int, score_threshold: float,
                 nms_threshold: float, top_k: int = TOP_K) -> NDArray[np.float32]:
    """YuNet's heads -> N x 15 rows ``x, y, w, h, 5 x (x, y) landmarks, score`` in network-input pixels,
    as cv2.FaceDetectorYN computes them: score = sqrt(clamped cls x clamped obj), box centre and landmarks
    offset from the grid cell, size exp(.) x stride, then non-maximum suppression."""
    import cv2

    rows = []
    for i, stride in enumerate(STRIDES):
        cols = pad_w // stride
        cls = np.clip(outputs[YUNET_OUTPUTS[i]].reshape(-1), 0.0, 1.0)
        obj = np.clip(outputs[YUNET_OUTPUTS[i + 3]].reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        keep = np.flatnonzero(score >= score_threshold)
        if keep.size == 0:
            continue
        bbox = outputs[YUNET_OUTPUTS[i + 6]].reshape(-1, 4)[keep]
        kps = outputs[YUNET_OUTPUTS[i + 9]].reshape(-1, 10)[keep]
        c = (keep % cols).astype(np.float32)[:, None]
        r = (keep // cols).astype(np.float32)[:, None]
        face = np.empty((keep.size, 15), np.float32)
        size = np.exp(bbox[:, 2:4]) * stride
        face[:, 0:2] = np.hstack([c, r]) * stride + bbox[:, 0:2] * stride - size / 2.0
        face[:, 2:4] = size
        face[:, 4:14:2] = (kps[:, 0::2] + c) * stride
        face[:, 5:14:2] = (kps[:, 1::2] + r) * stride
        face[:, 14] = score[keep]
        rows.append(face)
    if not rows:
        return np.zeros((0, 15), np.float32)
    faces = np.concatenate(rows)
    if faces.shape[0] > 1:
        # OpenCV suppresses on the boxes truncated to integers (its Rect2i); do the same.
        boxes = np.trunc(faces[:, :4]).tolist()
        keep_idx = cv2.dnn.NMSBoxes(boxes, faces[:, 14].tolist(), score_threshold, nms_threshold, 1.0, top_k)
        faces = faces[np.asarray(keep_idx, dtype=np.int64).reshape(-1)]
    return faces


class YuNetDetector:
    """``Detector`` backed by YuNet in ONNX Runtime; faces are returned most confident first.

    One instance may be shared by threads (an ONNX Runtime session runs concurrent calls safely and the
    detector keeps no per-call state). ``sized`` gives a detector with other working sizes or thresholds
    that shares this one's session (no second copy of the network in memory).
    """

    name = "yunet"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        max_side: int = 640,
        min_side: int = 320,
        small_pad: float = 0.15,
        fast_shrink: bool = False,
        threads: int = 1,
    ) -> None:
        """``fast_shrink``: shrink with INTER_LINEAR instead of INTER_AREA (see ``detect``)."""
        import cv2

        path = model_path or default_yunet_path()
        if not path.is_file():
            raise ModelError(
                f"Face detector model {path} not found.",
                "Set EDGEHR_SHARED to the folder holding models-src/yunet, or install the model files.",
            )
        data = path.read_bytes()  # 230 kB: hash and parse the same bytes
        digest = hashlib.sha256(data).hexdigest()
        if digest != YUNET_SHA256:
            raise ModelError(
                f"Face detector model {path} has sha256 {digest}, expected {YUNET_SHA256}.",
                "Replace it with OpenCV Zoo's face_detection_yunet_2023mar.onnx (same bytes).",
            )
        # One OpenCV thread by default (resizing, borders): on the Pi the detector, liveness and embedder
        # share 4 cores with the kiosk screen; OpenCV's pool would otherwise take all of them.
        cv2.setNumThreads(threads)
        self.version = digest[:16]
        self._session: onnxruntime.InferenceSession = session(_free_input_size(data), threads)
        self._input = str(self._session.get_inputs()[0].name)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.min_side = min_side
        self.small_pad = small_pad
        self.fast_shrink = fast_shrink
        self._check()

    def _check(self) -> None:
        if not 0 < self.min_side <= self.max_side:
            raise ValueError("min_side must be positive and not above max_side")
        if not 0.0 < self.score_threshold < 1.0 or not 0.0 < self.nms_threshold < 1.0:
            raise ValueError("score_threshold and nms_threshold must lie in (0, 1)")

    def sized(self, *, max_side: int | None = None, min_side: int | None = None, small_pad: float | None = None,
              score_threshold: float | None = None, fast_shrink: bool | None = None) -> YuNetDetector:
        """A detector sharing this one's network with other working sizes, score threshold or shrinking."""
        other = copy.copy(self)
        other.fast_shrink = self.fast_shrink if fast_shrink is None else fast_shrink
        other.max_side = self.max_side if max_side is None else max_side
        other.min_side = self.min_side if min_side is None else min_side
        other.small_pad = self.small_pad if small_pad is None else small_pad
        other.score_threshold = self.score_threshold if score_threshold is None else score_threshold
        other._check()
        return other

    def run_network(self, blob: NDArray[np.float32]) -> dict[str, NDArray[np.float32]]:
        """YuNet's 12 head outputs for a 1 x 3 x H x W BGR 0..255 blob (H, W multiples of 32)."""
        values = self._session.run(list(YUNET_OUTPUTS), {self._input: blob})
        return {name: np.asarray(v, np.float32) for name, v in zip(YUNET_OUTPUTS, values, strict=True)}

    def detect(self, image: Image) -> list[Face]:
        import cv2

        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InputError(
                f"The detector needs an H x W x 3 uint8 BGR image, got {image.dtype} {image.shape}.",
                "Load images with core.images.load_image.",
            )
        height, width = image.shape[:2]
        pad = 0
        work = image
        if max(height, width) < self.min_side:
            pad = int(round(self.small_pad * max(height, width)))
            work = np.asarray(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)))
        work_h, work_w = work.shape[:2]
        longest = max(work_h, work_w)
        scale = 1.0
        if longest > self.max_side:
            scale = self.max_side / longest
        elif longest < self.min_side:
            scale = self.min_side / longest
        if scale != 1.0:
            size = (max(1, round(work_w * scale)), max(1, round(work_h * scale)))
            # INTER_AREA averages every source pixel (right for a 12 MP photo) but is fast only at whole
            # ratios: 640 x 480 -> 256 x 192 takes 1.6 ms, INTER_LINEAR 0.2 ms. Camera frames shrink by
            # 2.5 with ``fast_shrink``; see device.vision.pipeline.real_pipeline for what that costs.
            interpolation = cv2.INTER_LINEAR if scale > 1.0 or self.fast_shrink else cv2.INTER_AREA
            work = np.asarray(cv2.resize(work, size, interpolation=interpolation), dtype=np.uint8)
        in_h, in_w = work.shape[:2]
        pad_h = -(-in_h // DIVISOR) * DIVISOR
        pad_w = -(-in_w // DIVISOR) * DIVISOR
        # The blob FaceDetectorYN feeds the net: BGR as is, 0..255, black padding at the bottom and right;
        # one strided copy converts and transposes at once.
        if (pad_h, pad_w) == (in_h, in_w):
            blob = work.transpose(2, 0, 1)[None].astype(np.float32)
        else:
            blob = np.zeros((1, 3, pad_h, pad_w), np.float32)
            blob[0, :, :in_h, :in_w] = work.transpose(2, 0, 1)
        rows = decode_yunet(self.run_network(blob), pad_w, pad_h, self.score_threshold, self.nms_threshold)
        # Map from the working image back to the caller's: undo the resize, then the border.
        sx = work_w / in_w
        sy = work_h / in_h
        faces = []
        for row in rows:
            x, y, w, h = float(row[0]) * sx - pad, float(row[1]) * sy - pad, float(row[2]) * sx, float(row[3]) * sy
            marks = row[4:14].reshape(5, 2).copy()
            marks[:, 0] = marks[:, 0] * sx - pad
            marks[:, 1] = marks[:, 1] * sy - pad
            faces.append(Face(box=(x, y, w, h), landmarks=marks.astype(np.float32), score=float(row[14])))
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces


def largest(faces: list[Face]) -> Face | None:
    """The face with the biggest box (the person nearest the camera), or None."""
    if not faces:
        return None
    return max(faces, key=lambda f: f.box[2] * f.box[3])


class FakeDetector:
    """FAKE detector for tests of other components; never a fallback. Returns the faces it was given."""

    name = "fake"
    version = "fake-1"

    def __init__(self, faces: list[Face]) -> None:
        self.faces = faces

    def detect(self, image: Image) -> list[Face]:
        return list(self.faces)
