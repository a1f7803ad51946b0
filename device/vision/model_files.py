"""Model files are checked by sha256 before they are loaded: one digest function for every model."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from core.errors import ModelError
from core.paths import CHECKOUT

MANIFEST = CHECKOUT / "models" / "manifest.toml"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (models are too big to hash in one read on a Pi)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_sha256(name: str, manifest: Path = MANIFEST) -> str:
    """The sha256 models/manifest.toml records for the model ``name``."""
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"Model manifest {manifest} cannot be read: {exc}.", "Restore models/manifest.toml.") from exc
    for entry in data.get("model", []):
        if entry.get("name") == name and "sha256" in entry:
            return str(entry["sha256"])
    raise ModelError(f"Model {name!r} is not in {manifest}.", "Use a model named in models/manifest.toml.")
