"""A server config command's settings merged into the device config, and the result written as TOML."""

from __future__ import annotations

import json
from typing import Any

from core.errors import InputError


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` laid over it, table by table (a changed key keeps its siblings)."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def flat_keys(settings: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of the settings changed (for the audit log: names, not values)."""
    keys: list[str] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            keys.extend(flat_keys(value, f"{prefix}{key}."))
        else:
            keys.append(f"{prefix}{key}")
    return keys


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise InputError(f"A config value of type {type(value).__name__} cannot be written.", "Report this bug.")


def render_toml(data: dict[str, Any]) -> str:
    """The config as TOML: top-level keys first, then one table per section."""
    lines = ["# Written by the courier from a validated server config command."]
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines += [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in tables.items():
        lines += ["", f"[{name}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"
