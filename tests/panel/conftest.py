"""Fixtures shared by the panel tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def vision() -> Any:
    """The terminal's real detector, liveness and embedder, loaded once per test module."""
    from device.attendance.vision_parts import open_vision
    from tests.panel.site import device_config

    return open_vision(device_config(Path("/nonexistent")))
