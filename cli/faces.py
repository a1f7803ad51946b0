"""Handlers of ``edgehr faces compare`` and ``edgehr bench faces|search``, and the output helpers the other
``faces`` handlers (faces_liveness.py, faces_calibrate.py) share.

Output is for people (a table) or, with --json, one JSON object per line for scripts. Face images and
templates are never printed or logged, only file names and scores.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from device.config.device import RecognitionSection

#: Thresholds printed in the calibrate table: cosine scores of normalised dlib descriptors sit high (most
#: impostor pairs score 0.75-0.9), so the table is fine where the operating point lies.
TABLE_THRESHOLDS = (0.5, 0.6, 0.7, 0.75) + tuple(round(0.80 + 0.01 * i, 2) for i in range(19))


def _emit(obj: dict[str, Any], as_json: bool, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if as_json else text, flush=True)


def _read_pairs(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "a" not in reader.fieldnames or "b" not in reader.fieldnames:
                raise InputError(f"{path} has no header row with columns a and b.",
                                 "Make the first line of the CSV `a,b` (extra columns are ignored).")
            return [((row.get("a") or "").strip(), (row.get("b") or "").strip()) for row in reader]
    except OSError as exc:
        raise InputError(f"Pairs file {path} cannot be read: {exc.strerror}.", "Check the path.") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"Pairs file {path} is not a UTF-8 CSV file: {exc}.", "Save it as UTF-8 CSV.") from exc


def _inside(root: Path, relative: str) -> Path | None:
    """The file ``relative`` under ``root``, or None when the path leaves the root ("..", absolute paths).

    The check is on the path as written, not on where symlinks point: a dataset folder of links is fine.
    """
    if not relative:
        return None
    base = Path(os.path.normpath(root.absolute()))
    candidate = Path(os.path.normpath(base / relative))
    return candidate if candidate.is_relative_to(base) else None


def compare(args: argparse.Namespace) -> int:
    from core.images import load_image
    from device.vision.pipeline import real_pipeline
    from device.vision.thresholds import operating_threshold

    pairs = _read_pairs(args.pairs)
    cfg = RecognitionSection()
    pipeline = real_pipeline(cfg)
    threshold = operating_threshold(cfg, pipeline.embedder.name, pipeline.embedder.version)
    cache: dict[str, tuple[np.ndarray | None, str | None]] = {}

    def embedding(relative: str) -> tuple[np.ndarray | None, str | None]:
        if relative not in cache:
            path = _inside(args.root, relative)
            if path is None:
                cache[relative] = (None, "outside-root")
            else:
                try:
                    cache[relative] = pipeline.embed_for_compare(load_image(path))
                except InputError as exc:
                    cache[relative] = (None, exc.code)
        return cache[relative]

    for a, b in pairs:
        ea, error_a = embedding(a)
        eb, error_b = embedding(b)
        score = float(ea @ eb) if ea is not None and eb is not None else None
        error = None if score is not None else f"{error_a or error_b}"
        where = a if error_a else b
        text = f"{score:.4f}\t{a}\t{b}" if score is not None else f"-\t{a}\t{b}\t{error} ({where})"
        _emit({"a": a, "b": b, "score": None if score is None else round(score, 6), "error": error}, args.json, text)
    _emit({"threshold": round(threshold, 6)}, args.json, f"threshold\t{threshold:.4f} (cosine; same person at/above)")
    return 0


def bench_faces(args: argparse.Namespace) -> int:
    from drills.vision.benchmark import run_faces_bench

    return _print_rows(run_faces_bench(getattr(args, "max_images", 0)), args.json)


def bench_search(args: argparse.Namespace) -> int:
    from drills.vision.benchmark import run_search_bench

    return _print_rows(run_search_bench(), args.json)


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> int:
    for row in rows:
        if as_json:
            print(json.dumps(row, ensure_ascii=False), flush=True)
        else:
            print("  ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)
    return 1 if any("error" in row for row in rows) else 0  # a row per failed part; the rest still printed


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

