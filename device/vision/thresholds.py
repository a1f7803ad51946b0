"""The match threshold in use: recognition.threshold, else the calibrated one in models/calibration.toml.

The product's default threshold (recognition.threshold = 0) is read from models/calibration.toml, one
table per embedder, written from a recorded ``edgehr faces calibrate`` run (``drills.vision.calibration``);
the embedder's version (the hash of its model file) is stored with it, and a mismatch is an error rather
than a silently wrong threshold.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from core.errors import ModelError
from core.paths import CHECKOUT
from device.config.device import RecognitionSection

CALIBRATION_FILE = CHECKOUT / "models" / "calibration.toml"


def read_calibration(path: Path = CALIBRATION_FILE) -> dict[str, dict[str, object]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"Calibration file {path} is missing.",
                         "Run `edgehr faces calibrate` and record its threshold there, or set "
                         "recognition.threshold.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"Calibration file {path} is not valid TOML: {exc}.", "Restore it from git.") from exc
    return {str(k): dict(v) for k, v in data.get("embedder", {}).items()}


def calibrated_threshold(embedder_name: str, embedder_version: str, path: Path = CALIBRATION_FILE) -> float:
    """The recorded operating threshold of this exact embedder (name and file hash must match)."""
    entry = read_calibration(path).get(embedder_name)
    if entry is None:
        raise ModelError(f"No calibrated threshold for embedder {embedder_name!r} in {path}.",
                         "Run `edgehr faces calibrate` for it, or set recognition.threshold.")
    if entry.get("version") != embedder_version:
        raise ModelError(
            f"The threshold in {path} was calibrated for {embedder_name} version {entry.get('version')}, "
            f"but the model file loaded is version {embedder_version}.",
            "Re-run `edgehr faces calibrate` for the new model and update the file, or set recognition.threshold.",
        )
    value = entry.get("threshold")
    if not isinstance(value, float):
        raise ModelError(f"{path}: embedder.{embedder_name}.threshold is not a number.", "Fix the file.")
    return value


def operating_threshold(cfg: RecognitionSection, embedder_name: str, embedder_version: str) -> float:
    """recognition.threshold if set, else the calibrated value for this embedder."""
    if cfg.threshold > 0:
        return cfg.threshold
    return calibrated_threshold(embedder_name, embedder_version)
