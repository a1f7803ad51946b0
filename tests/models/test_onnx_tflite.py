"""The TensorFlow-free ONNX -> LiteRT writer (models/recipes/onnx_tflite.py) against ONNX Runtime.

The kiosk runs the .tflite; these tests hold it to the ONNX model it was written from, on real faces from
../shared/datasets/faces (live, and the SYNTHETIC print/screen attacks of drills.vision.attacks, so both
decisions occur), and hold the recipe to byte-identical output and to refusing ops it does not know.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from core.errors import ModelError
from core.paths import models_build_dir, shared_dir
from device.config.device import RecognitionSection
from device.vision.liveness import MANIFEST_NAME, MODEL_FILE, MiniFasLiveness, liveness_crop, to_input
from device.vision.model_files import file_sha256, manifest_sha256
from models.recipes import onnx_tflite

SOURCE = shared_dir() / "models-src" / "minifas" / "minifas_v2_128.onnx"
BUILT = models_build_dir() / MODEL_FILE
FACES = shared_dir() / "datasets" / "faces"
THRESHOLD = RecognitionSection().liveness_threshold
PARITY_FACES = 60  # photos; each gives a live frame, a print and a screen (180 crops)
MAX_ABS_DIFF = 1e-4

needs_source = pytest.mark.skipif(not SOURCE.is_file(), reason=f"{SOURCE} not found (set EDGEHR_SHARED)")
needs_built = pytest.mark.skipif(
    not BUILT.is_file(), reason=f"{BUILT} is not built: run `python models/build.py` (ops/setup.sh does)")


def probability_real(logits: Any) -> float:
    values = np.asarray(logits, dtype=np.float64).reshape(-1)
    shifted = np.exp(values - values.max())
    return float(shifted[0] / shifted.sum())


@needs_source
@needs_built
def test_litert_matches_onnx_runtime_on_real_faces() -> None:
    import onnxruntime as ort

    from core.images import load_image
    from device.vision.detector import YuNetDetector, largest
    from drills.vision.attacks import live_frame, printed_photo, screen_replay
    from drills.vision.liveness_bench import bench_faces

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    reference = ort.InferenceSession(str(SOURCE), options, providers=["CPUExecutionProvider"])
    input_name = reference.get_inputs()[0].name
    litert = MiniFasLiveness()
    detector = YuNetDetector()
    ours: list[float] = []
    theirs: list[float] = []
    for seed, path in enumerate(bench_faces(PARITY_FACES)):
        photo = load_image(path)
        for make in (live_frame, printed_photo, screen_replay):
            frame = make(photo, seed=seed)
            face = largest(detector.detect(frame))
            if face is None:
                continue
            batch = to_input(liveness_crop(frame, face))
            ours.append(probability_real(litert.run(batch)))
            # Upstream's ONNX model takes the same values channels first.
            nchw = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
            theirs.append(probability_real(reference.run(None, {input_name: nchw})[0]))
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.size >= 150  # 60 photos x 3 frames, most with a face found
    assert float(np.abs(a - b).max()) < MAX_ABS_DIFF
    assert np.array_equal(a >= THRESHOLD, b >= THRESHOLD)
    # Both decisions occur, so "identical decisions" is not vacuous.
    assert 0 < int(np.sum(b >= THRESHOLD)) < b.size


@needs_source
def test_recipe_output_is_byte_identical_and_matches_the_manifest(tmp_path: Path) -> None:
    first, second = tmp_path / "a.tflite", tmp_path / "b.tflite"
    onnx_tflite.build(SOURCE, first, name="MiniFAS")
    onnx_tflite.build(SOURCE, second, name="MiniFAS")
    assert first.read_bytes() == second.read_bytes()
    assert file_sha256(first) == manifest_sha256(MANIFEST_NAME)
    assert not list(tmp_path.glob("*.partial"))


@needs_source
def test_the_built_model_runs_in_litert_with_nhwc_input(tmp_path: Path) -> None:
    out = tmp_path / MODEL_FILE
    onnx_tflite.build(SOURCE, out, name="MiniFAS")
    model = MiniFasLiveness(model_path=out)
    logits = model.run(np.full((1, 128, 128, 3), 0.5, np.float32))
    assert logits.shape == (2,) and np.all(np.isfinite(logits))


def _tiny_model(path: Path, op: str) -> Path:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 8, 8])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3, 8, 8])
    node = helper.make_node(op, ["input"], ["output"], name="the_node")
    model = helper.make_model(helper.make_graph([node], "tiny", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))
    return path


def test_an_unknown_op_is_refused_by_name(tmp_path: Path) -> None:
    source = _tiny_model(tmp_path / "tiny.onnx", "Softmax")
    out = tmp_path / "tiny.tflite"
    with pytest.raises(ModelError, match="Softmax") as err:
        onnx_tflite.build(source, out, name="tiny")
    assert "the_node" in str(err.value) and err.value.code == "model-unsupported-op"
    assert not out.exists()


def test_a_known_op_used_outside_minifas_s_pattern_is_refused(tmp_path: Path) -> None:
    """Shape is supported only as part of a flatten's shape arithmetic; elsewhere it would be dropped."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("output", TensorProto.INT64, [4])
    node = helper.make_node("Shape", ["input"], ["output"], name="lonely_shape")
    model = helper.make_model(helper.make_graph([node], "tiny", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(tmp_path / "shape.onnx"))
    with pytest.raises(ModelError, match="lonely_shape"):
        onnx_tflite.convert(tmp_path / "shape.onnx", name="tiny")


YUNET = shared_dir() / "models-src" / "yunet" / "yunet_s_640_640.onnx"


@pytest.mark.skipif(not YUNET.is_file(), reason=f"{YUNET} not found (set EDGEHR_SHARED)")
def test_yunet_written_at_one_size_matches_onnx_runtime_at_others() -> None:
    """YuNet (Resize, MaxPool, channels-last heads, 12 outputs) written at 256 x 320 and resized at run time
    gives ONNX Runtime's head outputs on real photos."""
    from ai_edge_litert.interpreter import Interpreter

    from core.images import load_image
    from device.vision.detector import YUNET_OUTPUTS, YuNetDetector

    interpreter = Interpreter(model_content=onnx_tflite.convert(YUNET, name="YuNet", input_hw=(256, 320)),
                              num_threads=1)
    detector = YuNetDetector()
    photos = [load_image(FACES / p) for p in ("celeb-dev/img1.jpg", "celeb-dev/couple.jpg", "orl/s3/4.pgm")]
    for height, width in ((256, 320), (192, 256), (480, 640)):
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, [1, height, width, 3])
        interpreter.allocate_tensors()
        outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}
        for photo in photos:
            import cv2

            image = np.asarray(cv2.resize(photo, (width, height)), np.float32)
            interpreter.set_tensor(index, image[None])
            interpreter.invoke()
            theirs = detector.run_network(image.transpose(2, 0, 1)[None].copy())
            for name in YUNET_OUTPUTS:
                reference = theirs[name]
                ours = interpreter.get_tensor(outputs[name])
                assert ours.shape == reference.shape
                assert float(np.abs(ours - reference).max()) < 1e-4, name


EMBEDDER = models_build_dir() / "dlib_resnet_v1.onnx"


@pytest.mark.skipif(not EMBEDDER.is_file(), reason=f"{EMBEDDER} is not built: run `python models/build.py`")
def test_dlib_resnet_written_for_litert_gives_onnx_runtime_descriptors() -> None:
    """The float32 embedder (AveragePool, zero Pad of the skip paths, Flatten) through the writer: the same
    descriptors as ONNX Runtime on real face chips."""
    from ai_edge_litert.interpreter import Interpreter

    from core.images import load_image
    from device.vision.alignment import align_chip
    from device.vision.detector import YuNetDetector, largest
    from device.vision.onnx_runtime import session

    interpreter = Interpreter(model_content=onnx_tflite.convert(EMBEDDER, name="dlib ResNet"), num_threads=1)
    interpreter.allocate_tensors()
    index, output = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    reference = session(str(EMBEDDER))
    detector = YuNetDetector()
    for path in sorted((FACES / "celeb-dev").glob("*.jpg"))[:6]:
        image = load_image(path)
        face = largest(detector.detect(image))
        assert face is not None
        chip = np.ascontiguousarray(align_chip(image, face.landmarks)[..., ::-1], np.float32)[None]
        interpreter.set_tensor(index, chip)
        interpreter.invoke()
        ours = interpreter.get_tensor(output)[0]
        theirs = reference.run(None, {"chips": np.ascontiguousarray(chip.transpose(0, 3, 1, 2))})[0][0]
        assert float(np.abs(ours - theirs).max()) < 1e-4


def test_a_resize_other_than_nearest_2x_is_refused(tmp_path: Path) -> None:
    """Written as CONCATENATION + DEPTH_TO_SPACE, which is exactly nearest 2x; any other Resize would be wrong."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 24, 24])
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1.0, 1.0, 3.0, 3.0])
    node = helper.make_node("Resize", ["input", "", "scales"], ["output"], name="resize_by_three", mode="nearest",
                            coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    graph = helper.make_graph([node], "tiny", [x], [y], initializer=[scales])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "resize.onnx"))
    with pytest.raises(ModelError, match="resize_by_three"):
        onnx_tflite.convert(tmp_path / "resize.onnx", name="tiny")
