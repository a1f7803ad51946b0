"""The contract of `edgehr asr transcribe FILE... --lang en|zh --json` and `edgehr bench asr`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli.main import main
from drills.asr_bench import clips_for, edit_distance, english_words, mandarin_chars
from tests.interview.conftest import JFK_FLAC, JFK_WAV, LJ, needs_moonshine, needs_speech, write_audio

KEYS = {"path", "text", "audio_seconds", "seconds", "engine"}


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


@needs_speech
def test_one_json_line_per_file_bad_files_do_not_stop_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silent = write_audio(tmp_path / "silent.wav", np.zeros(32000, np.float32), 16000)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    files = [str(JFK_FLAC), str(silent), str(text), str(LJ), str(tmp_path / "missing.flac")]
    code = main(["asr", "transcribe", *files, "--lang", "en", "--engine", "fake", "--json"])
    assert code == 1  # some files failed: each has its line
    lines = _lines(capsys)
    assert [line["path"] for line in lines] == files
    good = [lines[0], lines[3]]
    for line in good:
        assert set(line) == KEYS and line["engine"] == "fake"
        assert isinstance(line["text"], str) and line["audio_seconds"] > 0 and line["seconds"] >= 0
    assert lines[1]["code"] == "audio-silent" and "could not hear you" in lines[1]["error"]
    assert lines[2]["code"] == "audio-format" and lines[4]["code"] == "audio-unreadable"
    assert all(set(line) == {"path", "error", "code"} for line in (lines[1], lines[2], lines[4]))


@needs_speech
def test_all_good_exits_zero_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asr", "transcribe", str(JFK_WAV), "--lang", "zh", "--engine", "fake"]) == 0
    assert capsys.readouterr().out.startswith(f"{JFK_WAV}\t")


@needs_speech
@needs_moonshine
def test_real_engine_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asr", "transcribe", str(JFK_FLAC), "--lang", "en", "--json"]) == 0
    (line,) = _lines(capsys)
    assert line["engine"] == "moonshine-base-en" and "ask not what your country" in line["text"].lower()


def test_usage_errors() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["asr", "transcribe", "x.wav", "--lang", "fr"])
    assert caught.value.code == 2


@needs_speech
def test_bench_datasets_and_scoring() -> None:
    en, zh = clips_for("en"), clips_for("zh")
    assert len(en) == 117 and len(zh) == 64
    assert all(c.path.is_file() for c in en + zh)
    assert english_words("Don't stop -- twenty-five, OK?") == ["dont", "stop", "twenty", "five", "ok"]
    assert mandarin_chars("你好， 世界！") == list("你好世界")
    assert edit_distance(list("abc"), list("axcd")) == 2
