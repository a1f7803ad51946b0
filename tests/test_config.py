from __future__ import annotations

from pathlib import Path

import pytest

from cli.config_cmd import check_file
from cli.main import main
from core.config.toml_lines import key_lines
from core.errors import ConfigError
from device.config import DeviceConfig, load_device_config

EXAMPLES = Path(__file__).resolve().parent.parent / "device" / "config" / "examples"


@pytest.mark.parametrize("name", ["device.toml", "server.toml"])
def test_examples_are_valid(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(EXAMPLES / name)]) == 0
    assert "valid" in capsys.readouterr().out


def test_unknown_key_and_wrong_type_are_both_reported_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('role = "device"\n[device]\nid = "gate-1"\n[camera]\nfps = "fast"\ncolour = true\n')
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5: camera.fps:" in err
    assert f"{path}:6: camera.colour: unknown key" in err


def test_cross_field_rules(tmp_path: Path) -> None:
    path = tmp_path / "cross.toml"
    path.write_text('[device]\nid = "gate-1"\n[camera]\nsource = "video"\n[gpio]\nbuzzer = 4\nrelay = 4\n')
    with pytest.raises(ConfigError) as info:
        load_device_config(path)
    text = str(info.value)
    assert "camera.path" in text
    assert "both use pin 4" in text
    assert {p.line for p in info.value.problems} == {3, 5}


def test_bad_toml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[device]\nid = "x"\nname = \n')
    with pytest.raises(ConfigError) as info:
        check_file(path)
    assert info.value.problems[0].line == 3


def test_missing_file_and_future_version(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        check_file(tmp_path / "nope.toml")
    future = tmp_path / "future.toml"
    future.write_text('schema_version = 99\n[device]\nid = "x"\n')
    with pytest.raises(ConfigError, match="newer than this edgehr"):
        check_file(future)


def test_server_role_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('role = "server"\n[broker]\ntls = false\n[ingest]\nworkers = 0\n')
    with pytest.raises(ConfigError) as info:
        check_file(path)
    assert [(p.line, p.key) for p in info.value.problems] == [(5, "ingest.workers")]


def test_every_field_has_title_and_description() -> None:
    from sync.server.config import ServerConfig

    def walk(model: type) -> list[str]:
        missing = []
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            if not info.title or not info.description:
                missing.append(f"{model.__name__}.{name}")
            annotation = info.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                missing += walk(annotation)
        return missing

    assert walk(DeviceConfig) == []
    assert walk(ServerConfig) == []


def test_key_lines_handles_arrays_of_tables_and_multiline_strings() -> None:
    text = '[[shift]]\nname = "a"\n[[shift]]\nnote = """\nx = 1\n"""\nname = "b"\n'
    lines = key_lines(text)
    assert lines[("shift", 0, "name")] == 2
    assert lines[("shift", 1, "name")] == 7
    assert ("shift", 1, "x") not in lines


def test_one_to_one_needs_a_claim_source_and_pin_needs_the_keypad() -> None:
    import pytest as _pytest
    from pydantic import ValidationError

    from device.config.device import DeviceConfig

    base = {"device": {"id": "gate-1"}, "recognition": {"mode": "1:1"}}
    assert DeviceConfig.model_validate(base).claim.keypad  # keypad by default
    with _pytest.raises(ValidationError, match="needs a way to claim"):
        DeviceConfig.model_validate({**base, "claim": {"keypad": False}})
    with _pytest.raises(ValidationError, match="claim.pin = true needs claim.keypad"):
        DeviceConfig.model_validate({**base, "claim": {"keypad": False, "pin": True, "badge": "evdev",
                                                       "badge_device": "/dev/input/event0"}})
    with _pytest.raises(ValidationError, match="claim.badge_device"):
        DeviceConfig.model_validate({**base, "claim": {"badge": "serial"}})
    with _pytest.raises(ValidationError):
        DeviceConfig.model_validate({**base, "claim": {"keypad_prefix": "E 1"}})


@pytest.mark.parametrize("value", ["0", "-5", '"1"', "true", "1.0"])
def test_unusable_schema_version_is_exit_2_with_its_line(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "version.toml"
    path.write_text(f'role = "device"\nschema_version = {value}\n[device]\nid = "gate-1"\n')
    assert main(["config", "check", str(path)]) == 2
    assert f"{path}:2: schema_version:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "value",
    ["[" * 5000 + "]" * 5000, "[" * 400 + "]" * 400, "{a = " * 300 + "1" + "}" * 300],
    ids=["arrays-5000", "arrays-400", "inline-tables-300"],
)
def test_deeply_nested_toml_is_exit_2_with_its_line(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(f'[device]\nid = "gate-1"\n# a comment with [[[[ is not nesting\nname = "[[[["\ndeep = {value}\n')
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5: (file): arrays or inline tables nested too deeply" in err


def test_brackets_in_strings_and_comments_are_not_nesting(tmp_path: Path) -> None:
    path = tmp_path / "strings.toml"
    opening = "[" * 40
    path.write_text(
        f'[device]\nid = "gate-1"  # {opening}\nname = """\n{opening}\n"""\n'
        f"[camera]\nsource = 'video'\npath = '{opening}'\n"
    )
    config = check_file(path)
    assert isinstance(config, DeviceConfig)
