"""Build the vision parts a terminal needs (pipeline, gallery, model versions) from its configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from device.errors import NotBuiltError

if TYPE_CHECKING:
    from device.config.device import DeviceConfig
    from device.runner import VisionParts


def open_vision(config: DeviceConfig) -> VisionParts:
    """The face pipeline (detector, quality gate, liveness, embedder) and the 1:N gallery."""
    raise NotBuiltError(
        "The face pipeline (device/vision/pipeline.py and gallery.py) is not on this branch yet.",
        "Nothing was started. Merge the vision branch, then run the terminal again.",
    )
