"""The settings form: rendered from the config model's titles and descriptions, validated as
``edgehr config check`` validates (the same loader and model) before the file is replaced atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.config_cmd import check_file
from core.errors import ConfigError
from device.config import DeviceConfig, load_device_config
from device.panel import settings_form
from tests.panel.terminal_site import CONFIG


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "device.toml"
    path.write_text(CONFIG.format(state=tmp_path))
    return path


def form_of(config: DeviceConfig) -> dict[str, str]:
    """What a browser sends for the unchanged form (checked boxes as "on", disabled fields left out)."""
    form: dict[str, str] = {}
    for section in settings_form.form_sections(config):
        for field in section.fields:
            if field.read_only:
                continue
            if field.kind == "bool":
                if field.value == "true":
                    form[field.name] = "on"
            else:
                form[field.name] = field.value
    return form


def test_every_field_is_rendered_with_the_models_title_and_description(config_file: Path) -> None:
    config = load_device_config(config_file)
    sections = {s.name: s for s in settings_form.form_sections(config)}
    assert set(sections) == {n for n, f in DeviceConfig.model_fields.items() if n not in ("schema_version", "role")}
    fps = next(f for f in sections["camera"].fields if f.name == "camera.fps")
    info = DeviceConfig.model_fields["camera"].annotation.model_fields["fps"]  # type: ignore[union-attr]
    assert (fps.title, fps.description, fps.kind, fps.value) == (info.title, info.description, "float", "15.0")
    assert sections["camera"].title == "Camera"
    source = next(f for f in sections["camera"].fields if f.name == "camera.source")
    assert source.kind == "choice" and "picamera2" in source.choices
    snapshots = next(f for f in sections["attendance"].fields if f.name == "attendance.snapshots")
    assert snapshots.kind == "bool" and snapshots.value == "false"
    relay = next(f for f in sections["gpio"].fields if f.name == "gpio.relay")
    assert relay.kind == "int" and relay.optional and relay.value == "19"
    device_id = next(f for f in sections["device"].fields if f.name == "device.id")
    assert device_id.read_only
    token = next(f for f in sections["kiosk"].fields if f.name == "kiosk.access_token")
    assert token.read_only and token.value == ""  # a secret is never put in the page


def test_unchanged_form_writes_nothing(config_file: Path) -> None:
    before = config_file.read_bytes()
    config = load_device_config(config_file)
    assert settings_form.save(config_file, config, form_of(config)) == (config, [])
    assert config_file.read_bytes() == before


def test_a_valid_change_is_written_atomically_and_passes_config_check(config_file: Path) -> None:
    config = load_device_config(config_file)
    form = form_of(config) | {"attendance.debounce_seconds": "90", "attendance.snapshots": "on", "gpio.relay": ""}
    new, keys = settings_form.save(config_file, config, form)
    assert sorted(keys) == ["attendance.debounce_seconds", "attendance.snapshots", "gpio.relay"]
    assert new.attendance.debounce_seconds == 90 and new.attendance.snapshots and new.gpio.relay is None
    checked = check_file(config_file)  # what `edgehr config check` runs
    assert isinstance(checked, DeviceConfig) and checked == new
    assert 'id = "gate-1"' in config_file.read_text()  # the rest of the file is kept
    assert not [p for p in config_file.parent.iterdir() if p.name.startswith(".device.toml")]


@pytest.mark.parametrize(("changes", "key"), [
    ({"camera.fps": "0"}, "camera.fps"),  # gt=0
    ({"camera.fps": "fast"}, "camera.fps"),  # not a number
    ({"attendance.workday_starts": "25:00"}, "attendance.workday_starts"),
    ({"recognition.min_brightness": "220"}, "recognition"),  # a section's own rule: min below max
    ({"gpio.buzzer": "19"}, "gpio"),  # two devices on one pin
])
def test_a_bad_value_is_refused_as_config_check_refuses_it_and_nothing_is_written(
    config_file: Path, changes: dict[str, str], key: str
) -> None:
    before = config_file.read_bytes()
    config = load_device_config(config_file)
    with pytest.raises(ConfigError) as refused:
        settings_form.save(config_file, config, form_of(config) | changes)
    assert [p.key for p in refused.value.problems] == [key]
    assert config_file.read_bytes() == before
    assert not [p for p in config_file.parent.iterdir() if p.name.startswith(".device.toml")]
    by_field, general = settings_form.problems_by_field(refused.value.problems)
    assert (key in by_field) != bool(general)


def test_the_catalogs_name_every_field_and_english_is_the_models_title(config_file: Path) -> None:
    from core.i18n import catalog

    en, zh = catalog("en"), catalog("zh-CN")
    for section in settings_form.form_sections(load_device_config(config_file)):
        assert en[f"config.{section.name}"] == section.title and f"config.{section.name}" in zh
        for field in section.fields:
            assert en[f"config.{field.name}"] == field.title, field.name
            assert zh[f"config.{field.name}"] != field.title or field.title in ("TLS", "GPIO"), field.name


def test_the_catalogs_describe_every_field_and_english_is_the_models_description(config_file: Path) -> None:
    from core.i18n import catalog

    en, zh = catalog("en"), catalog("zh-CN")
    for section in settings_form.form_sections(load_device_config(config_file)):
        described = [(section.name, section.description)] + [(f.name, f.description) for f in section.fields]
        for name, description in described:
            assert en[f"config-help.{name}"] == description, name  # English drifts from the model: this fails
            assert zh[f"config-help.{name}"].strip() and zh[f"config-help.{name}"] != description, name
