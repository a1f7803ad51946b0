"""One validated configuration per role (device, server), loaded from TOML."""

from device.config.device import DeviceConfig
from device.config.loader import CONFIG_SCHEMA_VERSION, check_file, load_device_config, load_toml_model

__all__ = ["CONFIG_SCHEMA_VERSION", "DeviceConfig", "check_file", "load_device_config", "load_toml_model"]
