"""Kiosk per-frame cost with the real models, one thread: analyse + gallery search + decision step.

    PYTHONPATH=. .venv/bin/python ops/bench/kiosk_step.py [--json]

Frames: the 4th LFW photo of the first 20 people with >= 4 photos, placed on a 640x480 grey canvas (the
kiosk camera's resolution); those people are enrolled from their first 3 photos. Each frame is processed
3 times; p50/p95 over all. Needs the vision branch (device/vision/pipeline.py) and the built models.
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from core.paths import shared_dir
from device.attendance.decision import Decision, FrameEvidence
from device.attendance.vision_parts import open_vision
from device.config.device import DeviceConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--threshold", type=float, default=0.0,
                        help="match threshold (default 0 = the calibrated one in models/calibration.toml)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    config = DeviceConfig.model_validate(
        {"device": {"id": "bench", "state_dir": "/tmp/edgehr-bench"}, "recognition": {"threshold": args.threshold}}
    )
    vision = open_vision(config)  # real_pipeline: onnxruntime intra_op_num_threads=1
    lfw = shared_dir() / "datasets" / "faces" / "lfw-dev"
    people = [p for p in sorted(lfw.iterdir()) if p.is_dir() and len(list(p.glob("*.jpg"))) >= 4][:20]
    frames = []
    for person in people:
        photos = sorted(person.glob("*.jpg"))
        vectors = [v for v in (vision.pipeline.embed_image(cv2.imread(str(p)))[0] for p in photos[:3]) if v is not None]
        if vectors:
            vision.gallery.add(person.name, np.stack(vectors))
        canvas = np.full((480, 640, 3), 120, np.uint8)
        canvas[115:365, 195:445] = cv2.resize(cv2.imread(str(photos[3])), (250, 250))
        frames.append(canvas)
    decision = Decision(confirm_frames=3, liveness_frames=3, liveness_threshold=config.recognition.liveness_threshold)
    times = []
    for frame in frames * 3:
        start = time.perf_counter()
        analysis = vision.pipeline.analyse(frame)
        match = vision.gallery.search(analysis.embedding) if analysis.embedding is not None else None
        box = analysis.face.box if analysis.face else None
        decision.step(FrameEvidence(box, analysis.quality, analysis.liveness, match))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    result = {"bench": "kiosk_step", "frames": len(times), "p50_ms": round(times[len(times) // 2], 1),
              "p95_ms": round(times[int(len(times) * 0.95)], 1), "threads": 1, "models": vision.models,
              "confirm_frames": 3}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'bench':<12}{'frames':>8}{'p50 ms':>10}{'p95 ms':>10}")
        print(f"{'kiosk_step':<12}{result['frames']:>8}{result['p50_ms']:>10}{result['p95_ms']:>10}")


if __name__ == "__main__":
    main()
