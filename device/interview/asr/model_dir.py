"""Where the built speech models live, and the error when one is missing."""

from __future__ import annotations

from pathlib import Path

from core.errors import ModelError
from core.paths import models_build_dir


def model_dir(name: str, files: tuple[str, ...], base: Path | None = None) -> Path:
    """``$EDGEHR_MODELS/name`` holding every one of ``files``; ModelError says how to build it."""
    folder = (base or models_build_dir()) / name
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise ModelError(
            f"speech model {name} is not built: {', '.join(missing)} missing in {folder}.",
            "Run `python models/build.py` in the checkout (it builds from the pip packages named in "
            "models/manifest.toml), or set EDGEHR_MODELS to the folder that holds it.",
            code="model-missing",
        )
    return folder
