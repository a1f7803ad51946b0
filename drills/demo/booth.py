"""The demo's interview booth: a booth device whose microphone replays recorded answers (the shared speech
clips), a candidate HR schedules through its API each run, and an autopilot that walks the booth's own
screen steps (check-in, consent, two answers) so the result reaches HR's interview report.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import tomllib
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.paths import shared_dir

DEMO_BOOTH_ID = "demo-booth-1"
BANK = "customer-service-en"
ANSWERS = [("jfk", "jfk_16k_mono.wav"), ("ljspeech", "LJ001-0002.wav")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure(site_dir: Path, state: Path, port: int) -> Path | None:
    """The booth's config for this run (None when the demo state predates the booth)."""
    from device.courier.settings_file import render_toml
    from sync.keyfiles import write_atomic

    path = site_dir / "devices" / DEMO_BOOTH_ID / "device.toml"
    if not path.exists():
        return None
    answers = state / "booth-answers"
    answers.mkdir(exist_ok=True)
    for i, (folder, name) in enumerate(ANSWERS, 1):
        target = answers / f"{i}-{name}"
        if not target.exists():
            shutil.copy(shared_dir() / "datasets" / "speech" / "en" / folder / name, target)
    device = tomllib.loads(path.read_text())
    device["device"].update(name="Demo booth", kind="booth", language="en", timezone="Asia/Shanghai")
    device["microphone"] = {"source": "wav", "path": str(answers)}
    device["panel"] = {"host": "127.0.0.1", "port": port}
    device["logging"] = {"level": "INFO", "json_lines": True}
    write_atomic(path, render_toml(device).encode())
    return path


def _call(url: str, token: str | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers,  # noqa: S310 - loopback URLs the demo built
                                     method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return dict(json.loads(response.read()))


def schedule(server_url: str, token: str) -> str:
    """HR schedules this run's candidate at the booth (its list reaches the booth as a downlink)."""
    candidate_id = f"demo-{int(time.time())}"
    start = datetime.now(UTC) - timedelta(minutes=5)
    _call(f"{server_url}/api/candidates", token, {
        "candidate_id": candidate_id, "name": "Demo Candidate", "role_id": "customer-service",
        "question_bank_id": BANK, "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=4)).isoformat(), "device_id": DEMO_BOOTH_ID})
    return candidate_id


class Autopilot:
    """Walks the booth screen's steps like a candidate: check in, consent, answer two questions, end."""

    def __init__(self, booth_url: str, server_url: str, token: str, stop: threading.Event) -> None:
        self.booth_url, self.server_url, self.token, self.stop = booth_url, server_url, token, stop
        self.session_id = ""
        self.error = ""
        self.thread = threading.Thread(target=self._run, name="demo-booth", daemon=True)

    def _state(self) -> dict[str, Any]:
        return _call(f"{self.booth_url}/booth/state")

    def _step(self, name: str, body: dict[str, Any] | None = None) -> bool:
        try:
            _call(f"{self.booth_url}/booth/{name}", body=body or {})
            return True
        except OSError:
            return False

    def _until(self, check: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if check():
                    return True
            except OSError:
                pass
            self.stop.wait(0.5)
        return False

    def _run(self) -> None:
        try:
            code = schedule(self.server_url, self.token)
            if not self._until(lambda: self._step("checkin", {"code": code}), 120):
                self.error = "the candidate list did not reach the booth"
                return
            self._step("consent", {"lang": "en"})
            self._step("demographics", {"answers": {}})  # the optional self-report: a demo candidate skips it
            for _ in range(2):
                self._step("start")
                if not self._until(lambda: self._state()["sub"] in ("review", "refused"), 180):
                    self.error = "an answer did not finish"
                    return
                self._step("next")
            self._step("end")
            if self._until(lambda: self._state()["phase"] == "done", 180):
                self.session_id = str(self._state().get("reference", ""))
        except OSError as exc:
            self.error = str(exc)

    def reached_hr(self) -> bool:
        if not self.session_id:
            return False
        try:
            report = _call(f"{self.server_url}/api/interviews/{self.session_id}", self.token)
        except OSError:
            return False
        return bool(report.get("answers"))
