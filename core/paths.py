"""Where edgehr finds things that are not its own code: shared data, built models, state.

Every location can be overridden by an environment variable, so a terminal, CI and a developer's
checkout all run the same code.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout (or installed tree) that holds device/, sync/ and models/.
CHECKOUT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """Datasets and model sources, read in place and never copied (default: ``../shared``)."""
    return Path(os.environ.get("EDGEHR_SHARED", str(CHECKOUT.parent / "shared"))).resolve()


def models_build_dir() -> Path:
    """Model files built by ``models/build.py`` from pip-package weights."""
    return Path(os.environ.get("EDGEHR_MODELS", str(CHECKOUT / "models" / "build"))).resolve()


def state_home() -> Path:
    """Where the demo site and a developer's runs keep state: outside the checkout, per user."""
    default = Path(os.environ.get("XDG_STATE_HOME", str(Path.home() / ".local" / "state"))) / "edgehr"
    return Path(os.environ.get("EDGEHR_STATE", str(default))).resolve()
