"""Shared pieces of the config models: strict sections and fields that carry their own help text."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """A config table: unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)


def field(default: Any, title: str, description: str, **constraints: Any) -> Any:
    """A field with the title and description the panel renders its settings form from."""
    return Field(default, title=title, description=description, **constraints)


class LoggingSection(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = field("INFO", "Log level", "Least severe level written.")
    json_lines: bool = field(False, "JSON lines", "Write one JSON object per log line (for log shippers).")
