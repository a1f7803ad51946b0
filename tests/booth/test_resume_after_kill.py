"""SIGKILL mid-answer: a real booth process is killed while recording; the audio so far was on disk, the
restarted booth drops that answer and resumes the session at the same question."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from device.store import open_store
from tests.booth.conftest import JFK, add_candidate
from tests.test_demo import free_port


def post(url: str, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/booth/{step}", data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/booth/state", timeout=5) as response:
        return dict(json.loads(response.read()))


def wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def write_config(tmp_path: Path, port: int) -> Path:
    answers = tmp_path / "answers"
    answers.mkdir()
    shutil.copy(JFK, answers / "a1.wav")
    config = tmp_path / "booth.toml"
    config.write_text(f"""
[device]
id = "booth-1"
name = "Booth 1"
kind = "booth"
language = "en"
state_dir = "{tmp_path / 'state'}"

[microphone]
source = "wav"
path = "{answers}"

[asr]
engine_en = "fake"

[sync]
enabled = false

[panel]
host = "127.0.0.1"
port = {port}
""")
    return config


def start(config: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    log = (tmp_path / "booth.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "cli.main", "device", "run", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_sigkill_mid_answer_loses_only_that_answer_and_the_session_resumes(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    store = open_store(tmp_path / "state" / "device.db")
    add_candidate(store)
    store.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, port)
    booth = start(config, tmp_path)
    try:
        wait(lambda: state(url)["phase"] == "welcome", 90, "the booth screen")
        post(url, "checkin", {"code": "C-100"})
        post(url, "consent", {"lang": "en"})
        post(url, "demographics", {"answers": {}})  # the optional self-report, skipped
        post(url, "start")
        wait(lambda: (state(url).get("answer") or {}).get("seconds", 0) >= 3.0, 30, "3 s of answer")
        os.kill(booth.pid, signal.SIGKILL)
        booth.wait(10)
    finally:
        if booth.poll() is None:
            booth.kill()
            booth.wait()
    db = tmp_path / "state" / "device.db"
    with sqlite3.connect(db) as conn:
        status, audio_path, audio_bytes, partial = conn.execute(
            "SELECT status, audio_path, audio_bytes, transcript FROM booth_answers").fetchone()
        assert conn.execute("SELECT status FROM booth_sessions").fetchone() == ("open",)
        assert conn.execute("SELECT count(*) FROM booth_transcript").fetchone()[0] >= 2
    assert status == "recording" and audio_bytes >= 2 * 32000 and partial  # fsync'd as it arrived
    assert Path(audio_path).stat().st_size >= audio_bytes

    booth = start(config, tmp_path)
    try:
        resumed = wait(lambda: (s := state(url))["phase"] == "resume" and s, 90, "the resume screen")
        assert resumed["question"]["number"] == 1 and resumed["candidate"] == "Li Wei"
        post(url, "resume")
        assert state(url)["sub"] == "prepare"
        booth.send_signal(signal.SIGTERM)
        assert booth.wait(60) == 0
    finally:
        if booth.poll() is None:
            booth.kill()
            booth.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status, error_code FROM booth_answers").fetchone() == ("lost", "interrupted")
    assert not Path(audio_path).exists()
