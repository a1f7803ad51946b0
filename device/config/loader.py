"""Load the device's config file."""

from __future__ import annotations

from pathlib import Path

from core.config.loader import load_toml_model
from device.config.device import DeviceConfig


def load_device_config(path: Path) -> DeviceConfig:
    return load_toml_model(path, DeviceConfig)
