"""FacePipeline with the real models: what the kiosk loop and enrolment get from one frame."""

from __future__ import annotations

import numpy as np
import pytest

from device.config.device import RecognitionSection
from device.vision.detector import YuNetDetector
from device.vision.embedder import FakeEmbedder
from device.vision.liveness import FakeLiveness
from device.vision.pipeline import FacePipeline, real_pipeline
from drills.vision.attacks import live_frame
from tests.vision.conftest import face_image, needs_embedder, needs_faces

pytestmark = [needs_faces, needs_embedder]


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return real_pipeline(RecognitionSection())


def test_live_frame_gives_an_embedding(pipeline: FacePipeline) -> None:
    frame = live_frame(face_image("lfw-dev/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"), seed=1)
    result = pipeline.analyse(frame)
    assert result.face is not None and result.quality.ok and result.live
    assert result.liveness is not None and result.liveness >= 0.5
    assert result.embedding is not None and result.embedding.shape == (128,)
    assert abs(float(np.linalg.norm(result.embedding)) - 1.0) < 1e-4
    assert set(result.timings_ms) == {"detect", "quality", "liveness", "align", "embed"}


def test_same_person_scores_higher_than_another(pipeline: FacePipeline) -> None:
    a1 = pipeline.analyse(live_frame(face_image("lfw-dev/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"), seed=1)).embedding
    a2 = pipeline.analyse(live_frame(face_image("lfw-dev/Aaron_Peirsol/Aaron_Peirsol_0002.jpg"), seed=2)).embedding
    other = pipeline.analyse(live_frame(face_image("lfw-dev/AJ_Cook/AJ_Cook_0001.jpg"), seed=3)).embedding
    assert a1 is not None and a2 is not None and other is not None
    assert float(a1 @ a2) > float(a1 @ other) + 0.1


def test_not_live_means_no_embedding(detector: YuNetDetector) -> None:
    spoofed = FacePipeline(detector, FakeLiveness(0.1), FakeEmbedder(), RecognitionSection())
    result = spoofed.analyse(live_frame(face_image("lfw-dev/Aaron_Peirsol/Aaron_Peirsol_0001.jpg")))
    assert result.quality.ok and result.liveness == 0.1
    assert not result.live and result.embedding is None
    assert "embed" not in result.timings_ms


def test_a_fused_rule_still_embeds_a_frame_below_the_threshold(detector: YuNetDetector) -> None:
    # The decision judges liveness over a window of frames, so it needs each frame's match.
    fused = RecognitionSection(liveness_fusion="mean-logit")
    result = FacePipeline(detector, FakeLiveness(0.1), FakeEmbedder(), fused).analyse(
        live_frame(face_image("lfw-dev/Aaron_Peirsol/Aaron_Peirsol_0001.jpg")))
    assert not result.live and result.liveness == 0.1 and result.embedding is not None


def test_quality_failure_stops_before_liveness(detector: YuNetDetector) -> None:
    pipe = FacePipeline(detector, FakeLiveness(1.0), FakeEmbedder(), RecognitionSection())
    result = pipe.analyse(np.full((480, 640, 3), 100, np.uint8))
    assert result.face is None and result.quality.reason == "no-face"
    assert result.liveness is None and result.embedding is None


def test_enrolment_reasons(pipeline: FacePipeline) -> None:
    vector, reason = pipeline.embed_image(face_image("celeb-dev/couple.jpg"))
    assert vector is None and reason == "many-faces"
    vector, reason = pipeline.embed_image(face_image("celeb-dev/img1.jpg"))
    assert vector is not None and reason is None


def test_compare_embeds_tiny_orl_faces(pipeline: FacePipeline) -> None:
    same = [pipeline.embed_for_compare(face_image(f"orl/s5/{i}.pgm"))[0] for i in (1, 2)]
    other = pipeline.embed_for_compare(face_image("orl/s9/1.pgm"))[0]
    assert same[0] is not None and same[1] is not None and other is not None
    assert float(same[0] @ same[1]) > float(same[0] @ other)


def test_camera_frames_use_the_frame_detector_and_photos_the_photo_detector(detector: YuNetDetector) -> None:
    from device.vision.detector import FakeDetector

    frame = live_frame(face_image("lfw-dev/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"), seed=1)
    pipe = FacePipeline(FakeDetector([]), FakeLiveness(1.0), FakeEmbedder(), RecognitionSection(),
                        frame_detector=detector.sized(max_side=320))
    assert pipe.analyse(frame).embedding is not None  # found by the frame detector
    assert pipe.embed_image(frame) == (None, "no-face")  # the photo detector (here: finds nothing)


def test_real_pipeline_detects_frames_at_256_px(pipeline: FacePipeline) -> None:
    from device.vision.pipeline import FRAME_DETECT_SIDE

    assert isinstance(pipeline.frame_detector, YuNetDetector) and isinstance(pipeline.detector, YuNetDetector)
    assert pipeline.frame_detector.max_side == FRAME_DETECT_SIDE == 256 and pipeline.frame_detector.fast_shrink
    assert not pipeline.detector.fast_shrink
    assert pipeline.detector.max_side == 640 and pipeline.frame_detector.version == pipeline.detector.version
