"""Load a TOML config file into its pydantic model, reporting every problem with file:line at once.

The machinery only: each side names its own model (``device.config``, ``sync.server.config``)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.config.toml_lines import key_lines, line_of
from core.errors import ConfigError, ConfigProblem

#: Current layout version of every edgehr config file.
CONFIG_SCHEMA_VERSION = 1

#: Migrations from version N to N+1, applied in order to the parsed TOML before validation.
#: A new layout adds an entry here; old files keep loading and ``config check`` says they were migrated.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

M = TypeVar("M", bound=BaseModel)


def _migrate(data: dict[str, Any], path: str) -> dict[str, Any]:
    version = data.get("schema_version", CONFIG_SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        return data  # validation reports the wrong type with its line
    if version > CONFIG_SCHEMA_VERSION:
        raise ConfigError(
            path,
            [
                ConfigProblem(
                    None,
                    "schema_version",
                    f"version {version} is newer than this edgehr understands ({CONFIG_SCHEMA_VERSION}); "
                    "update edgehr or use a file written for this version",
                )
            ],
        )
    while version < CONFIG_SCHEMA_VERSION:
        data = MIGRATIONS[version](dict(data))
        version += 1
        data["schema_version"] = version
    return data


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, [ConfigProblem(None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, [ConfigProblem(None, "", f"cannot be read: {exc}")]) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError carries the position only in its message: "(at line 3, column 8)".
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise ConfigError(name, [ConfigProblem(line, "", f"not valid TOML: {exc}")]) from None


def _problems(exc: ValidationError, text: str) -> list[ConfigProblem]:
    lines = key_lines(text)
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and the section it is in)"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif "input" in error and not isinstance(error["input"], dict):
            message = f"{message} (got {error['input']!r})"
        problems.append(ConfigProblem(line_of(lines, loc), key, message))
    problems.sort(key=lambda p: (p.line or 0, p.key))
    return problems


def load_toml_model(path: Path, model: type[M]) -> M:
    """Read, migrate and validate ``path`` as ``model``; raise ConfigError listing every problem."""
    text, data = read_toml(path)
    data = _migrate(data, str(path))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(path), _problems(exc, text)) from None
