"""Build the vision parts a terminal needs (pipeline, gallery, model versions) from its configuration.

The real models only: YuNet, MiniFAS and the built embedder, each checked against its sha256. The match
threshold is recognition.threshold, or (when 0) the calibrated value recorded for this exact embedder
file in models/calibration.toml; a missing calibration is an error, never a guessed threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from device.attendance.ports import Analyser, GalleryView, ImageEmbedder

if TYPE_CHECKING:
    from device.config.device import DeviceConfig


class FacePipelineView(Analyser, ImageEmbedder, Protocol):
    """The vision pipeline does both: per-frame analysis for the kiosk, per-photo embedding for enrolment."""


class RebuildableGallery(GalleryView, Protocol):
    def __len__(self) -> int: ...

    def __contains__(self, employee_no: object) -> bool: ...


@dataclass
class VisionParts:
    pipeline: FacePipelineView
    gallery: RebuildableGallery
    models: dict[str, str]  # role -> version, recorded with every punch and shown on the health page
    template_model: str  # the embedder version templates are stored under
    same_person_threshold: float  # cosine above which two faces are one person (the match threshold)


def open_vision(config: DeviceConfig) -> VisionParts:
    """The face pipeline (detector, quality gate, liveness, embedder) and the 1:N gallery."""
    from device.vision.gallery import Gallery
    from device.vision.pipeline import real_pipeline
    from device.vision.thresholds import operating_threshold

    pipeline = real_pipeline(config.recognition)
    detector, liveness, embedder = pipeline.detector, pipeline.liveness, pipeline.embedder
    threshold = operating_threshold(config.recognition, embedder.name, embedder.version)
    gallery = Gallery(threshold, config.recognition.margin)
    template_model = f"{embedder.name}:{embedder.version}"
    models = {
        "detector": f"{detector.name}:{detector.version}",
        "liveness": f"{liveness.name}:{liveness.version}",
        "embedder": template_model,
    }
    return VisionParts(
        pipeline=pipeline,
        gallery=gallery,
        models=models,
        template_model=template_model,
        same_person_threshold=threshold,
    )
