from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cli.main import EXIT_NOT_BUILT, build_parser, main

SUBCOMMANDS = ["device", "server", "demo", "config", "models", "faces", "asr", "interview", "bench", "chaos"]


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"    {name}" in out


def _help_paths() -> list[list[str]]:
    """Every command and nested action, found from the parser itself."""
    import argparse

    paths: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    paths.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return paths


def test_every_subcommand_has_help_without_heavy_imports() -> None:
    # One interpreter runs every --help and then reports which heavy modules got imported.
    script = (
        "import sys, contextlib, io, json\n"
        "from cli.main import main\n"
        f"for path in {_help_paths()!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main([*path, '--help'])\n"
        "        except SystemExit as e:\n"
        "            assert e.code == 0, path\n"
        "heavy = ['cv2', 'onnxruntime', 'numpy', 'ai_edge_litert', 'pyaudio', 'vosk', 'paho', 'fastapi', 'gpiozero']\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


@pytest.mark.parametrize("argv", [["models", "list"]])
def test_next_wave_commands_say_not_built(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_NOT_BUILT
    assert "not built yet" in capsys.readouterr().err
