"""Load a TOML config file into its pydantic model, reporting every problem with file:line at once.

The machinery only: each side names its own model (``device.config``, ``sync.server.config``)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.config.toml_lines import Loc, key_lines, line_of
from core.errors import ConfigError, ConfigProblem

#: Current layout version of every edgehr config file.
CONFIG_SCHEMA_VERSION = 1

#: Migrations from version N to N+1, applied in order to the parsed TOML before validation.
#: A new layout adds an entry here; old files keep loading and ``config check`` says they were migrated.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

M = TypeVar("M", bound=BaseModel)


#: Deepest nesting of arrays and inline tables a config file may have. edgehr's own files use two
#: levels; the bound keeps a hostile or mangled file from exhausting the parser's recursion (tomllib
#: recurses once per level and would die with a RecursionError instead of a file:line message).
MAX_NESTING = 32


def _version_problem(data: dict[str, Any], lines: dict[Loc, int]) -> ConfigProblem | None:
    """Why ``schema_version`` cannot be used, or None. Checked before migrating, since migrations are
    looked up by version: a string would be coerced and a zero or negative version has no migration."""
    if "schema_version" not in data:
        return None
    version = data["schema_version"]
    line = line_of(lines, ("schema_version",))
    if not isinstance(version, int) or isinstance(version, bool):
        return ConfigProblem(
            line,
            "schema_version",
            f"must be a whole number without quotes, e.g. schema_version = {CONFIG_SCHEMA_VERSION} (got {version!r})",
        )
    if version < 1:
        return ConfigProblem(
            line,
            "schema_version",
            f"version {version} does not exist: versions start at 1 and this edgehr writes "
            f"{CONFIG_SCHEMA_VERSION}; set schema_version = {CONFIG_SCHEMA_VERSION}",
        )
    if version > CONFIG_SCHEMA_VERSION:
        return ConfigProblem(
            line,
            "schema_version",
            f"version {version} is newer than this edgehr understands ({CONFIG_SCHEMA_VERSION}); "
            "update edgehr or use a file written for this version",
        )
    return None


def _migrate(data: dict[str, Any], path: str, text: str) -> dict[str, Any]:
    problem = _version_problem(data, key_lines(text))
    if problem is not None:
        raise ConfigError(path, [problem])
    version = data.get("schema_version", CONFIG_SCHEMA_VERSION)
    while version < CONFIG_SCHEMA_VERSION:
        data = MIGRATIONS[version](dict(data))
        version += 1
        data["schema_version"] = version
    return data


def _deepest(text: str) -> tuple[int, int]:
    """(deepest nesting of ``[``/``{`` outside strings and comments, the line it is first reached on).

    A tolerant scan, not a parser: it only has to find runaway nesting; tomllib judges the rest."""
    depth = deepest = 0
    deepest_line = line = 1
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char == "\n":
            line += 1
        elif char == "#":
            end = text.find("\n", i)
            i = size if end < 0 else end
            continue
        elif char in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else char
            j = i + len(quote)
            while j < size and not text.startswith(quote, j):
                if char == '"' and text[j] == "\\":
                    j += 1  # an escaped character never closes a basic string
                elif text[j] == "\n" and len(quote) == 1:
                    break  # an unclosed one-line string: tomllib will name it
                j += 1
            line += text.count("\n", i, j)
            i = j + len(quote)
            continue
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif char in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest, deepest_line


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, [ConfigProblem(None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, [ConfigProblem(None, "", f"cannot be read: {exc}")]) from None
    deepest, line = _deepest(text)
    too_deep = ConfigProblem(
        line, "", f"arrays or inline tables nested too deeply (more than {MAX_NESTING} levels); flatten them"
    )
    if deepest > MAX_NESTING:
        raise ConfigError(name, [too_deep])
    try:
        return text, tomllib.loads(text)
    except RecursionError:
        # The scan above is tolerant by design; should it miss a nesting, the parser's own limit still
        # ends in a file:line message, never a traceback.
        raise ConfigError(name, [too_deep]) from None
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError carries the position only in its message: "(at line 3, column 8)".
        found = re.search(r"at line (\d+)", str(exc))
        at = int(found.group(1)) if found else None
        raise ConfigError(name, [ConfigProblem(at, "", f"not valid TOML: {exc}")]) from None


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
    data = _migrate(data, str(path), text)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(path), _problems(exc, text)) from None
