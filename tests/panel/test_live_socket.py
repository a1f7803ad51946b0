"""The kiosk's live socket (device/panel/live_socket.py): its schema and bounds, its mode, frames that cross it
unchanged, and the panel's stand-ins that degrade when nobody answers (device/panel/live.py)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from device.attendance.outcomes import Claimed, ClaimRefused
from device.attendance.screen import KioskScreen
from device.config.device import ClaimSection
from device.panel.live import DOWN_STATUS, KioskAway, RemoteKiosk, outcome_dict, outcome_from
from device.panel.live_socket import (
    MAX_FRAMES,
    MAX_REQUEST,
    LiveClient,
    LiveError,
    LiveServer,
    check_request,
    decode_frame,
    encode_frame,
    socket_path,
)


def short_state(tmp_path: Path) -> Path:
    state = tmp_path / "s"
    state.mkdir(mode=0o700)
    return state


def test_requests_outside_the_schema_are_refused() -> None:
    for bad in ({"op": "exec"}, [], {"op": "claim", "employee_no": 1}, {"op": "claim", "employee_no": "x" * 65},
                {"op": "frames", "count": MAX_FRAMES + 1, "timeout": 1}, {"op": "frames", "count": 1, "timeout": 60}):
        with pytest.raises(LiveError):
            check_request(bad)
    assert check_request({"op": "claim", "employee_no": "1001", "pin": None})["op"] == "claim"


def test_the_socket_serves_the_live_screen_and_frames(tmp_path: Path) -> None:
    state = short_state(tmp_path)
    screen = KioskScreen(device_name="Gate 1", default_language="en", monotonic_ns=lambda: 0)
    screen.set_status("running")
    frame = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)

    def answer(request: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        if request["op"] == "frames":
            return {}, [encode_frame(frame)] * request["count"]
        return {"state": screen.state(), "claim": None, "camera": "ok"}, []

    server = LiveServer(state, answer)
    server.start()
    try:
        assert socket_path(state).stat().st_mode & 0o777 == 0o600
        remote = RemoteKiosk(state, device_name="Gate 1", preview=False, claim=None)
        assert remote.screen.state()["status"] == "running" and remote.up()
        got = remote.frames(3, timeout_seconds=1.0)
        assert len(got) == 3 and all(np.array_equal(g, frame) for g in got)  # lossless
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:  # a request line past the bound
            raw.settimeout(5)
            raw.connect(str(socket_path(state)))
            raw.sendall(b"{" + b" " * MAX_REQUEST + b"}\n")
            header = json.loads(raw.makefile("rb").readline())
        assert header["ok"] is False
        with pytest.raises(LiveError, match="unknown request"):
            LiveClient(state).ask({"op": "drop-tables"})
    finally:
        server.stop()
    assert not socket_path(state).exists()


def test_the_panel_degrades_when_the_kiosk_process_is_away(tmp_path: Path) -> None:
    state = short_state(tmp_path)
    remote = RemoteKiosk(state, device_name="Gate 1", preview=True, claim=ClaimSection())
    assert remote.screen.state()["status"] == DOWN_STATUS
    assert remote.screen.preview_jpeg() is None and not remote.up()
    assert remote.claims is not None and remote.claims.view()["pending"] is None and not remote.claims.cancel()
    refused = remote.claim("1001")
    assert isinstance(refused, ClaimRefused) and refused.code == "kiosk-down"
    with pytest.raises(KioskAway):
        remote.frames(1, timeout_seconds=1.0)
    assert remote.camera_status() == "kiosk process not running"


def test_claim_outcomes_cross_unchanged() -> None:
    for outcome in (Claimed("1001", "keypad", 30.0), ClaimRefused("locked", None, 12)):
        assert outcome_from(json.loads(json.dumps(outcome_dict(outcome)))) == outcome
    with pytest.raises(LiveError):
        decode_frame(b"not a png")


def test_the_kiosk_answers_state_and_a_restart_request(tmp_path: Path) -> None:
    """kiosk_answer over the socket: the screen the kiosk loop writes, and saved settings' restart."""
    from types import SimpleNamespace

    from device.panel.live import kiosk_answer

    state = short_state(tmp_path)
    screen = KioskScreen(device_name="Gate 1", default_language="en", monotonic_ns=lambda: 0)
    screen.set_status("running")
    restarts: list[int] = []
    parts = SimpleNamespace(screen=screen, claims=None, fallback=None, kiosk=None, camera=None)
    server = LiveServer(state, kiosk_answer(parts, lambda: restarts.append(1)))
    server.start()
    try:
        remote = RemoteKiosk(state, device_name="Gate 1", preview=False, claim=None)
        assert remote.screen.state()["status"] == "running"
        remote.restart()
        assert restarts == [1]
    finally:
        server.stop()


def test_a_state_folder_too_deep_for_a_socket_is_a_config_problem(tmp_path: Path) -> None:
    from core.errors import ConfigError

    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    with pytest.raises(ConfigError, match="device.state_dir"):
        LiveServer(deep, lambda request: ({}, [])).start()
