"""The device's one validated configuration, loaded from TOML."""

from device.config.device import DeviceConfig
from device.config.loader import load_device_config

__all__ = ["DeviceConfig", "load_device_config"]
