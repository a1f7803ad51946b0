"""Saved settings apply by a clean restart: the terminal stops as on SIGTERM, then re-executes its own command."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import device.runner
from device.panel import site_admin
from tests.panel.terminal_site import CONFIG


class Reexec(Exception):
    pass


def test_reexec_runs_the_same_command(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, list[str]]] = []

    def execv(exe: str, argv: list[str]) -> None:
        seen.append((exe, argv))
        raise Reexec

    monkeypatch.setattr(os, "execv", execv)
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-m", "cli.main", "device", "run", "--config", "d.toml"])
    with pytest.raises(Reexec):
        site_admin.reexec()
    assert seen == [(sys.executable, [sys.executable, "-m", "cli.main", "device", "run", "--config", "d.toml"])]


class FakeTerminal:
    """What run_device drives; ``restart_requested`` as the settings page leaves it."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.failure = None
        self.restart_requested = True
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def wait(self) -> None:
        self.calls.append("wait")

    def stop(self) -> None:
        self.calls.append("stop")


def test_run_device_stops_cleanly_then_reexecutes_when_a_restart_was_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "device.toml"
    config.write_text(CONFIG.format(state=tmp_path))
    fake = FakeTerminal()
    monkeypatch.setattr(device.runner, "open_terminal", lambda *a, **k: fake)

    def reexec() -> Any:
        fake.calls.append("reexec")
        raise Reexec

    monkeypatch.setattr(site_admin, "reexec", reexec)
    with pytest.raises(Reexec):
        device.runner.run_device(argparse.Namespace(config=config))
    assert fake.calls == ["start", "wait", "stop", "reexec"]  # every part closed before the new image starts
