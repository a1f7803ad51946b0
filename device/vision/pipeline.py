"""One frame through the face stages: detect -> quality -> liveness -> align -> embed.

``FacePipeline.analyse`` is what the kiosk loop calls per camera frame; it returns everything the loop
needs to decide (the gallery search, K-frame confirmation and the punch are the loop's). It stops early:
no liveness for a face the quality gate rejected, no embedding for a face judged not live, so a photo held
up costs less than a real punch and never reaches the gallery.

``embed_image`` is for enrolment (the quality gate at enrolment strictness) and ``embed_for_compare`` for
verification tools (no quality gate; a second, more permissive detection pass when the first finds nothing).
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from device.config.device import RecognitionSection
from device.errors import ModelError
from device.paths import CHECKOUT, models_build_dir
from device.vision.alignment import align_chip
from device.vision.detector import YuNetDetector, largest
from device.vision.embedder import Embedder, OnnxEmbedder
from device.vision.liveness import MiniFasLiveness
from device.vision.quality import assess
from device.vision.types import Detector, Face, Image, LivenessModel, QualityVerdict, Vector

#: The kiosk default embedder (int8) and its float32 reference, as named in models/manifest.toml.
DEFAULT_EMBEDDER = "dlib_resnet_v1_int8"
FLOAT_EMBEDDER = "dlib_resnet_v1"
MANIFEST = CHECKOUT / "models" / "manifest.toml"


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
    ) -> None:
        self.detector = detector
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
        faces = self.detector.detect(image)
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
        if not live:
            return FrameAnalysis(face, verdict, probability, False, None, timings)
        start = time.perf_counter()
        chip = align_chip(image, face.landmarks)[..., ::-1]
        timings["align"] = _ms(start)
        start = time.perf_counter()
        embedding = self.embedder.embed(np.ascontiguousarray(chip)[None])[0]
        timings["embed"] = _ms(start)
        return FrameAnalysis(face, verdict, probability, True, embedding, timings)

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


def manifest_sha256(name: str, manifest: Path = MANIFEST) -> str:
    """The sha256 models/manifest.toml records for the built model ``name``."""
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"Model manifest {manifest} cannot be read: {exc}.", "Restore models/manifest.toml.") from exc
    for entry in data.get("model", []):
        if entry.get("name") == name and "sha256" in entry:
            return str(entry["sha256"])
    raise ModelError(f"Model {name!r} is not in {manifest}.", "Use a model named in models/manifest.toml.")


def open_embedder(name: str = DEFAULT_EMBEDDER, threads: int = 1) -> OnnxEmbedder:
    """The built embedder ``name`` from models/build/, checked against the manifest's sha256."""
    return OnnxEmbedder(
        models_build_dir() / f"{name}.onnx", name=name, expected_sha256=manifest_sha256(name), intra_op_threads=threads
    )


def real_pipeline(
    cfg: RecognitionSection,
    *,
    embedder_name: str = DEFAULT_EMBEDDER,
    liveness_variant: str = "float32",
    threads: int = 1,
    detect_max_side: int = 640,
) -> FacePipeline:
    """The pipeline with the real models (YuNet, MiniFAS, the built embedder) and a permissive fallback
    detector (lower score threshold, small images enlarged further) used only by ``embed_for_compare``.

    ``detect_max_side``: frames are detected with their longest side at most this. 640 (default) keeps a
    640 x 480 kiosk frame at full size. 320 was measured (one loaded x86 thread): detection 22 instead of
    82 ms p50, but MiniFAS, fed the coarser boxes, accepted fewer live faces (95.0% instead of 99.2% of 120
    live frames; synthetic prints 42.5% vs 45%, screens 9.5% vs 12.4%), so the default stays 640.
    """
    return FacePipeline(
        YuNetDetector(max_side=detect_max_side, min_side=min(320, detect_max_side), threads=threads),
        MiniFasLiveness(liveness_variant, threads=threads),
        open_embedder(embedder_name, threads),
        cfg,
        fallback_detector=YuNetDetector(score_threshold=0.3, min_side=640, small_pad=0.3, threads=threads),
    )
