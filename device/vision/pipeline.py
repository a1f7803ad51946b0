"""One frame through the face stages: detect -> quality -> liveness -> align -> embed.

``FacePipeline.analyse`` is what the kiosk loop calls per camera frame (detected with ``frame_detector``, sized
for camera frames, see ``real_pipeline``); it returns everything the loop
needs to decide (the gallery search, K-frame confirmation and the punch are the loop's). It stops early:
no liveness for a face the quality gate rejected, no embedding for a face judged not live, so a photo held
up costs less than a real punch and never reaches the gallery.

``embed_image`` is for enrolment (the quality gate at enrolment strictness) and ``embed_for_compare`` for
verification tools (no quality gate; a second, more permissive detection pass when the first finds nothing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.paths import models_build_dir
from core.types import Image, Vector
from device.config.device import RecognitionSection
from device.vision.alignment import align_chip
from device.vision.detector import YuNetDetector, largest
from device.vision.embedder import Embedder, OnnxEmbedder
from device.vision.liveness import MiniFasLiveness
from device.vision.model_files import manifest_sha256
from device.vision.quality import assess
from device.vision.types import Detector, Face, LivenessModel, QualityVerdict

#: The kiosk default embedder (int8) and its float32 reference, as named in models/manifest.toml.
DEFAULT_EMBEDDER = "dlib_resnet_v1_int8"
FLOAT_EMBEDDER = "dlib_resnet_v1"


@dataclass(frozen=True)
class FrameAnalysis:
    """What one frame gave. ``embedding`` is set only for a face that passed quality and liveness."""

    face: Face | None
    quality: QualityVerdict
    liveness: float | None
    live: bool
    embedding: Vector | None
    timings_ms: dict[str, float] = field(default_factory=dict)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class FacePipeline:
    """The face stages wired together; every stage is passed in (real or explicit fake)."""

    def __init__(
        self,
        detector: Detector,
        liveness: LivenessModel,
        embedder: Embedder,
        cfg: RecognitionSection,
        *,
        fallback_detector: Detector | None = None,
        frame_detector: Detector | None = None,
    ) -> None:
        """``detector`` finds faces in photos (enrolment, compare); ``frame_detector`` in camera frames
        (``analyse``; default: ``detector``); ``fallback_detector`` is ``embed_for_compare``'s second try."""
        self.detector = detector
        self.frame_detector = frame_detector or detector
        self.liveness = liveness
        self.embedder = embedder
        self.cfg = cfg
        self.fallback_detector = fallback_detector

    def embed_face(self, image: Image, face: Face) -> Vector:
        """Align the face to a 150 x 150 chip and embed it (unit vector)."""
        chip = align_chip(image, face.landmarks)[..., ::-1]  # BGR frame -> RGB chip (flip the small chip)
        vector: Vector = self.embedder.embed(np.ascontiguousarray(chip)[None])[0]
        return vector

    def analyse(self, image: Image) -> FrameAnalysis:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        faces = self.frame_detector.detect(image)
        timings["detect"] = _ms(start)
        start = time.perf_counter()
        verdict = assess(image, faces, self.cfg)
        timings["quality"] = _ms(start)
        face = largest(faces)
        if not verdict.ok or face is None:
            return FrameAnalysis(face, verdict, None, False, None, timings)
        start = time.perf_counter()
        probability = self.liveness.probability_real(image, face)
        timings["liveness"] = _ms(start)
        live = probability >= self.cfg.liveness_threshold
        # With a fused rule a frame below the threshold still counts: the decision judges the window, so
        # it needs this frame's match too (the embedding costs ~8 ms; nobody is punched on it alone).
        if not live and self.cfg.liveness_fusion == "consecutive":
            return FrameAnalysis(face, verdict, probability, False, None, timings)
        start = time.perf_counter()
        chip = align_chip(image, face.landmarks)[..., ::-1]
        timings["align"] = _ms(start)
        start = time.perf_counter()
        embedding = self.embedder.embed(np.ascontiguousarray(chip)[None])[0]
        timings["embed"] = _ms(start)
        return FrameAnalysis(face, verdict, probability, live, embedding, timings)

    def embed_image(self, image: Image) -> tuple[Vector | None, str | None]:
        """Enrolment: the embedding of the photo's face, or None and the quality reason code."""
        faces = self.detector.detect(image)
        verdict = assess(image, faces, self.cfg, enrolment=True)
        face = largest(faces)
        if not verdict.ok or face is None:
            return None, verdict.reason
        return self.embed_face(image, face), None

    def embed_for_compare(self, image: Image) -> tuple[Vector | None, str | None]:
        """Verification tools: the largest face's embedding with no quality gate; "no-face" if none found."""
        faces = self.detector.detect(image)
        if not faces and self.fallback_detector is not None:
            faces = self.fallback_detector.detect(image)
        face = largest(faces)
        if face is None:
            return None, "no-face"
        return self.embed_face(image, face), None


def open_embedder(name: str = DEFAULT_EMBEDDER, threads: int = 1) -> OnnxEmbedder:
    """The built embedder ``name`` from models/build/, checked against the manifest's sha256."""
    return OnnxEmbedder(
        models_build_dir() / f"{name}.onnx", name=name, expected_sha256=manifest_sha256(name), intra_op_threads=threads
    )


#: Camera frames are detected with their longest side at most this (see ``real_pipeline``).
FRAME_DETECT_SIDE = 256


def real_pipeline(
    cfg: RecognitionSection,
    *,
    embedder_name: str = DEFAULT_EMBEDDER,
    threads: int = 1,
    detect_max_side: int = FRAME_DETECT_SIDE,
) -> FacePipeline:
    """The pipeline with the real models (YuNet, MiniFAS, the built embedder). One YuNet network serves
    three working sizes: photos (enrolment, compare) at up to 640 px, camera frames at up to
    ``detect_max_side``, and a permissive fallback (lower score threshold, small images enlarged further)
    used only by ``embed_for_compare``.

    Why camera frames at 256 px (a 640 x 480 frame becomes 256 x 192, a multiple of YuNet's stride 32, so
    nothing is padded): a face the quality gate accepts is at least recognition.min_face_px (80) wide in
    the frame, 32 px at 256, well inside what YuNet finds (about 10 px and up). Frames are shrunk with
    INTER_LINEAR (``fast_shrink``): OpenCV's INTER_AREA is fast only at whole ratios (1.6 against 0.2 ms
    for 2.5). Detection takes 4.4 ms instead of 6.6 ms at 320 px (ONNX Runtime, one x86 thread).
    What it costs, measured on 240 live frames (every 14th LFW image on a 640 x 480 canvas,
    drills.vision.attacks.live_frame) against the photo detector's 640 px faces: embeddings keep a mean
    cosine of 0.9920 (5th percentile 0.9860) to the 640 px ones, against 0.9931 (0.9863) at 320 px;
    the quality gate passed 228 frames (222 at 320), MiniFAS at 0.9 accepted 222 as live (217 at 320);
    of 120 SYNTHETIC prints and screens 19 passed MiniFAS (16 at 320). ``edgehr bench faces`` reports the
    liveness rows on this detector.
    Landmarks from a shrunk frame are coarser than from 640 px (about 5% of the face width at 320 px), which
    is why photos for enrolment keep 640.
    """
    photos = YuNetDetector(max_side=640, min_side=320, threads=threads)
    return FacePipeline(
        photos,
        MiniFasLiveness(threads=threads),
        open_embedder(embedder_name, threads),
        cfg,
        fallback_detector=photos.sized(score_threshold=0.3, min_side=640, small_pad=0.3),
        frame_detector=frame_detector(photos, detect_max_side),
    )


def frame_detector(photos: YuNetDetector, max_side: int = FRAME_DETECT_SIDE) -> YuNetDetector:
    """The camera-frame detector sharing ``photos``' network (see ``real_pipeline`` for the sizing)."""
    return photos.sized(max_side=max_side, min_side=min(320, max_side), fast_shrink=True)
