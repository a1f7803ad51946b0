"""The settings form, rendered from the config model's own field titles and descriptions, and a save that
validates the result exactly as ``edgehr config check`` does before it replaces the file.

Each section of ``DeviceConfig`` is a fieldset; each field a labelled input chosen by its type (a
checkbox for a bool, a list for a Literal, a number field for int and float, text otherwise), with the
field's description as its hint. A few fields are shown and not editable here: the file's layout
(schema_version, role), the device's identity (device.id, whose MQTT topics and keys follow it), its
state folder, and the kiosk token (a secret: shown only as set or not).

Saving changes only the keys whose value changed, in the file's own parsed TOML, writes the result to a
temporary file beside it, loads that with ``core.config.loader.load_toml_model`` (the loader and model
``config check`` uses for a device file: every problem with its key), and only if it is valid renames it
over the config file (atomic: a reader or a power cut sees the old or the new file).
"""

from __future__ import annotations

import os
import tempfile
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.config.base import Section
from core.config.loader import load_toml_model, read_toml
from core.errors import ConfigError, ConfigProblem
from device.config.device import DeviceConfig
from device.courier.settings_file import render_toml

Kind = Literal["bool", "choice", "int", "float", "text"]
READ_ONLY = frozenset({"schema_version", "role", "device.id", "device.state_dir", "kiosk.access_token"})
SECRET = frozenset({"kiosk.access_token"})


@dataclass(frozen=True)
class FormField:
    name: str  # "section.key", the input's name
    title: str
    description: str
    kind: Kind
    value: str  # as the input shows it ("" for None)
    choices: tuple[str, ...] = ()
    optional: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class FormSection:
    name: str
    title: str
    description: str
    fields: list[FormField]


def _kind(annotation: Any) -> tuple[Kind, tuple[str, ...], bool]:
    """(input kind, choices, optional) of a field's annotation."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    optional = False
    if origin in (types.UnionType, typing.Union):
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            return "text", (), optional  # e.g. camera.device: int | str
        annotation, origin, args = rest[0], typing.get_origin(rest[0]), typing.get_args(rest[0])
    if origin is Literal:
        return "choice", tuple(str(a) for a in args), optional
    if annotation is bool:
        return "bool", (), optional
    if annotation is int:
        return "int", (), optional
    if annotation is float:
        return "float", (), optional
    return "text", (), optional


def _shown(value: Any, name: str) -> str:
    if name in SECRET:
        return "set" if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_sections(config: DeviceConfig) -> list[FormSection]:
    """The form of ``config``: one section per config table, in the model's order."""
    sections = []
    for section_name, info in DeviceConfig.model_fields.items():
        section = getattr(config, section_name)
        if not isinstance(section, Section):
            continue
        fields = []
        for key, field_info in type(section).model_fields.items():
            name = f"{section_name}.{key}"
            kind, choices, optional = _kind(field_info.annotation)
            fields.append(FormField(name, field_info.title or key, field_info.description or "", kind,
                                    _shown(getattr(section, key), name), choices, optional, name in READ_ONLY))
        sections.append(FormSection(section_name, info.title or section_name, info.description or "", fields))
    return sections


def _parse(field: FormField, form: dict[str, str]) -> Any:
    """The value a form input stands for; text that does not parse is passed on for the model to refuse."""
    if field.kind == "bool":
        return form.get(field.name) in ("on", "true", "yes")
    raw = form.get(field.name, "").strip()
    if raw == "" and field.optional:
        return None
    try:
        if field.kind == "int" or (field.kind == "text" and field.name == "camera.device" and raw.isdigit()):
            return int(raw)
        if field.kind == "float":
            return float(raw)
    except ValueError:
        return raw
    return raw


def changes(config: DeviceConfig, form: dict[str, str]) -> dict[str, dict[str, Any]]:
    """section -> key -> new value, for the editable fields whose value differs from ``config``'s."""
    changed: dict[str, dict[str, Any]] = {}
    for section in form_sections(config):
        for field in section.fields:
            if field.read_only or (field.kind != "bool" and field.name not in form):
                continue  # an unchecked box is absent from a form; any other input absent is unchanged
            value = _parse(field, form)
            if _shown(value, field.name) != field.value:
                changed.setdefault(section.name, {})[field.name.split(".", 1)[1]] = value
    return changed


def save(path: Path, config: DeviceConfig, form: dict[str, str]) -> tuple[DeviceConfig, list[str]]:
    """Apply the form to the file at ``path``: (the new config, the changed keys), or ConfigError listing
    every problem (nothing written). Nothing changed: the file is left alone."""
    changed = changes(config, form)
    keys = [f"{s}.{k}" for s, table in changed.items() for k in table]
    if not changed:
        return config, []
    _, data = read_toml(path)
    for section, table in changed.items():
        target = data.setdefault(section, {})
        for key, value in table.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    text = render_toml(data).split("\n", 1)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# Written by the terminal's admin panel (settings page), validated before saving.\n" + text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            new = load_toml_model(Path(tmp), DeviceConfig)
        except ConfigError as exc:
            raise ConfigError(str(path), exc.problems) from None
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return new, keys


def problems_by_field(problems: list[ConfigProblem]) -> tuple[dict[str, str], list[str]]:
    """(field name -> message, messages that belong to no single field: a section's or the file's)."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for problem in problems:
        if problem.key.count(".") >= 1 and problem.key.split(".", 2)[1] != "":
            name = ".".join(problem.key.split(".")[:2])
            by_field[name] = problem.message
        else:
            general.append(f"{problem.key or '(file)'}: {problem.message}")
    return by_field, general
