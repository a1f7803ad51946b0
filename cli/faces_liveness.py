"""Handlers of ``edgehr faces liveness IMAGE... [--config FILE] [--threshold X] [--json]`` and
``edgehr bench liveness``.

One line per image; with --json exactly ``{"path", "live", "score", "reason"}`` (a contract: nothing is
added). ``score`` is MiniFAS's probability that the face is real (device.vision.liveness); ``live`` is
score >= the threshold, which is --threshold, else the config file's recognition.liveness_threshold,
else that setting's default. ``reason`` is null when live, else "spoof", "no-face", or the image
loader's code ("unreadable", "too-large"). Images are never printed or logged, only their paths.
"""

from __future__ import annotations

import argparse

from cli.faces import _emit, _print_rows
from core.errors import InputError
from device.config.device import RecognitionSection


def liveness_threshold(args: argparse.Namespace) -> float:
    """--threshold if given, else recognition.liveness_threshold from --config (or its default)."""
    if args.threshold is not None:
        if not 0.0 < args.threshold < 1.0:
            raise InputError(f"--threshold {args.threshold} is not a probability between 0 and 1 (exclusive).",
                             "Give e.g. --threshold 0.9, or leave it out to use the configured value.")
        return float(args.threshold)
    if args.config is not None:
        from device.config import load_device_config

        return load_device_config(args.config).recognition.liveness_threshold
    return RecognitionSection().liveness_threshold


def liveness(args: argparse.Namespace) -> int:
    from core.images import load_image
    from device.vision.detector import YuNetDetector, largest
    from device.vision.liveness import MiniFasLiveness

    threshold = liveness_threshold(args)
    detector = YuNetDetector()
    model = MiniFasLiveness()
    for path in args.images:
        score: float | None = None
        reason: str | None
        try:
            image = load_image(path)
            face = largest(detector.detect(image))
            if face is None:
                reason = "no-face"
            else:
                score = model.probability_real(image, face)
                reason = None if score >= threshold else "spoof"
        except InputError as exc:
            reason = exc.code
        live = reason is None
        text = f"{'live' if live else 'NOT live'}\t{'-' if score is None else f'{score:.4f}'}\t{path}" + (
            f"\t{reason}" if reason else "")
        _emit({"path": str(path), "live": live, "score": None if score is None else round(score, 6),
               "reason": reason}, args.json, text)
    return 0


def bench_liveness(args: argparse.Namespace) -> int:
    """``edgehr bench liveness``: see drills.vision.liveness_bench for the method."""
    from drills.vision.liveness_bench import run_liveness_bench

    if args.threshold and not 0.0 < args.threshold < 1.0:
        raise InputError(f"--threshold {args.threshold} is not a probability between 0 and 1.",
                         "Give e.g. --threshold 0.9, or leave it out for the configured default.")
    return _print_rows(run_liveness_bench(args.max_images, args.threshold, args.variants), args.json)
