"""``edgehr bench hardware --json`` measures every figure it names."""

from __future__ import annotations

import json

import pytest

from cli.main import main


def test_bench_hardware_prints_every_figure_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--log-level", "ERROR", "bench", "hardware", "--json"]) == 0
    figures = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    assert figures["folder replay, ORL 92x112 PGM"]["detail"].startswith("400 images")
    assert figures["video replay, MJPG 92x112"]["detail"] == "400 frames"
    for name, figure in figures.items():
        if name.startswith("pacing"):
            assert figure["value"] >= 0, "a paced frame came early"
        else:
            assert figure["value"] > 0, name
