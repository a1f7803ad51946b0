"""``edgehr bench liveness``: how MiniFAS separates live faces from SYNTHETIC print and screen attacks.

Method:
- Faces: celeb-dev (every image) and every 40th lfw-dev image (sorted paths), read in place from
  ../shared/datasets/faces. ``max_images`` > 0 keeps the first N of that list.
- Frames per face: "live photo" (the dataset photo as it is, what ``faces liveness IMAGE`` sees),
  "live canvas" (the photo pasted on a 640 x 480 background, drills.vision.attacks.live_frame), and the
  SYNTHETIC attacks "print" and "screen" (drills.vision.attacks; no real spoof images exist here, so
  these say how MiniFAS reacts to simulated artefacts, not to real attacks). Seed = the face's index.
- Each frame: YuNet (the product's detector), largest face, then MiniFAS. Rates are over frames where
  a face was found. ``accepted`` = probability_real >= the threshold (recognition.liveness_threshold by
  default). In ISO/IEC 30107-3 terms: APCER = attacks accepted, BPCER = live frames rejected.
- AUC: probability that a live-canvas frame scores above an attack frame (ties half), per attack kind.
- Model: the product's MiniFAS, float32 in LiteRT (device.vision.liveness; row key ``model`` =
  "litert-float32"). Its parity with upstream's ONNX file is tests/models/test_onnx_tflite.py's job.
- Speed: MiniFAS alone (crop + preprocessing + inference), p50 over every frame, one LiteRT thread
  (XNNPACK), in a child process with OMP/OPENBLAS/MKL threads = 1.
- Variants (``--variants``, for checking the preprocessing against upstream): the same frames and
  detections with one preprocessing step changed (channel order, value range, crop scale), so the
  effect of each choice is measured rather than argued.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Thresholds shown beside the configured one (0.5 = upstream's default rule real - spoof >= 0).
EXTRA_THRESHOLDS = (0.5, 0.7, 0.95)
LFW_STEP = 40
KINDS = ("live photo", "live canvas", "print (synthetic)", "screen (synthetic)")
MODEL_KEY = "litert-float32"


def run_liveness_bench(max_images: int = 0, threshold: float = 0.0, variants: bool = False) -> list[dict[str, Any]]:
    """Run the bench in a one-thread child process; rows as dicts. ``threshold`` 0 = the config default."""
    env = {**os.environ, **THREAD_ENV}
    argv = [str(max_images), str(threshold), "variants" if variants else "product"]
    proc = subprocess.run(  # noqa: S603 - our own module, run by the current interpreter
        [sys.executable, "-m", "drills.vision.liveness_bench", *argv],
        env=env, capture_output=True, text=True, check=False, timeout=7200,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"liveness bench child failed: {proc.stderr.strip()[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def bench_faces(max_images: int = 0) -> list[Path]:
    """The live faces the bench uses (see module docstring)."""
    from core.paths import shared_dir

    root = shared_dir() / "datasets" / "faces"
    with (root / "celeb-dev" / "labels.csv").open(encoding="utf-8") as f:
        paths = [root / "celeb-dev" / row["image"] for row in csv.DictReader(f)]
    paths += sorted((root / "lfw-dev").glob("*/*.jpg"))[::LFW_STEP]
    return paths[:max_images] if max_images > 0 else paths


@dataclass(frozen=True)
class Variant:
    """One way of turning (image, face) into MiniFAS's input."""

    name: str
    scale: float
    rgb: bool = True
    unit_range: bool = True


PRODUCT = Variant("product (upstream: 1.5x, RGB, 0-1)", 1.5)
VARIANTS = (
    PRODUCT,
    Variant("BGR instead of RGB", 1.5, rgb=False),
    Variant("0-255 instead of 0-1", 1.5, unit_range=False),
    Variant("crop 1.0x", 1.0),
    Variant("crop 2.0x", 2.0),
    Variant("crop 2.7x (Silent-Face model 1)", 2.7),
)


def _input(variant: Variant, image: Any, face: Any) -> np.ndarray:
    from device.vision.liveness import liveness_crop, to_input

    batch = to_input(liveness_crop(image, face, scale=variant.scale))
    if not variant.rgb:
        batch = np.ascontiguousarray(batch[..., ::-1])  # NHWC: channels are the last axis
    if not variant.unit_range:
        batch = batch * np.float32(255.0)
    return batch


def _auc(live: np.ndarray, attack: np.ndarray) -> float:
    if live.size == 0 or attack.size == 0:
        return float("nan")
    greater = (live[:, None] > attack[None, :]).sum()
    ties = (live[:, None] == attack[None, :]).sum()
    return float((greater + 0.5 * ties) / (live.size * attack.size))


def _rate(scores: np.ndarray, threshold: float) -> float:
    return round(float(np.mean(scores >= threshold)), 4) if scores.size else float("nan")


def liveness_rows(max_images: int = 0, threshold: float = 0.0, variants: bool = False) -> Iterator[dict[str, Any]]:
    import cv2

    from core.images import load_image
    from device.config.device import RecognitionSection
    from device.vision.detector import YuNetDetector, largest
    from device.vision.liveness import MiniFasLiveness
    from drills.vision.attacks import live_frame, printed_photo, screen_replay

    cv2.setNumThreads(1)
    threshold = threshold or RecognitionSection().liveness_threshold
    detector = YuNetDetector()
    model = MiniFasLiveness()
    makers: dict[str, Callable[[Any, int], Any]] = {
        "live photo": lambda image, seed: image,
        "live canvas": lambda image, seed: live_frame(image, seed=seed),
        "print (synthetic)": lambda image, seed: printed_photo(image, seed=seed),
        "screen (synthetic)": lambda image, seed: screen_replay(image, seed=seed),
    }
    faces = bench_faces(max_images)
    frames: dict[str, list[tuple[Any, Any]]] = {kind: [] for kind in KINDS}
    for seed, path in enumerate(faces):
        photo = load_image(path)
        for kind in KINDS:
            frame = makers[kind](photo, seed)
            face = largest(detector.detect(frame))
            if face is not None:
                frames[kind].append((frame, face))

    chosen = VARIANTS if variants else (PRODUCT,)
    precision = MODEL_KEY
    for variant in chosen:
        scores: dict[str, np.ndarray] = {}
        times: list[float] = []
        for kind in KINDS:
            values = []
            for frame, face in frames[kind]:
                start = time.perf_counter()
                logits = model.run(_input(variant, frame, face))
                times.append((time.perf_counter() - start) * 1000.0)
                shifted = np.exp(logits - logits.max())
                values.append(float(shifted[0] / shifted.sum()))
            scores[kind] = np.asarray(values, dtype=np.float64)
        for kind in KINDS:
            row: dict[str, Any] = {
                "bench": "liveness", "model": precision, "preprocessing": variant.name, "frames": kind,
                "faces": len(faces), "face_found": int(scores[kind].size), "threshold": threshold,
                "accepted": _rate(scores[kind], threshold),
            }
            row.update({f"accepted_at_{t:g}": _rate(scores[kind], t) for t in EXTRA_THRESHOLDS})
            yield row
        attacks = np.concatenate([scores["print (synthetic)"], scores["screen (synthetic)"]])
        yield {
            "bench": "liveness-summary", "model": precision, "preprocessing": variant.name,
            "threshold": threshold,
            "apcer_print": _rate(scores["print (synthetic)"], threshold),
            "apcer_screen": _rate(scores["screen (synthetic)"], threshold),
            "bpcer_photo": round(1.0 - _rate(scores["live photo"], threshold), 4),
            "bpcer_canvas": round(1.0 - _rate(scores["live canvas"], threshold), 4),
            "auc_print": round(_auc(scores["live canvas"], scores["print (synthetic)"]), 4),
            "auc_screen": round(_auc(scores["live canvas"], scores["screen (synthetic)"]), 4),
            "auc_attacks": round(_auc(scores["live canvas"], attacks), 4),
            "minifas_p50_ms": round(float(np.percentile(times, 50)), 3) if times else float("nan"),
            "method": "one LiteRT thread (XNNPACK); crop + preprocessing + inference per face",
        }


def main(argv: list[str]) -> int:
    max_images = int(argv[0]) if argv else 0
    threshold = float(argv[1]) if len(argv) > 1 else 0.0
    variants = len(argv) > 2 and argv[2] == "variants"
    for row in liveness_rows(max_images, threshold, variants):
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
