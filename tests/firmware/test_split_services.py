"""The courier as a service of its own (``edgehr device run --only courier``, edgehr-courier.service): it
tells systemd READY=1 and WATCHDOG=1 from its loop over a real notify socket, delivers punches another
process wrote into the shared SQLite database through a real mosquitto and ingest worker, and writes the
status file the kiosk process's health page reads (nothing shared in memory)."""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from device.courier.status_file import STALE_SECONDS, STATUS_FILE, status_problems
from device.runner import open_terminal
from drills.chaos_site import build_site, python_argv, python_env, running_worker, server_seqs, wait_for
from tests.attendance.real_vision import requires_vision


def from_main(sd: socket.socket, pid: int, count: int) -> list[bytes]:
    """The next ``count`` messages the process ``pid`` itself sent, as systemd's NotifyAccess=main keeps them
    (a child it runs, e.g. timedatectl, inherits NOTIFY_SOCKET and may send its own ERRNO=)."""
    kept: list[bytes] = []
    for _ in range(count * 5):
        message, ancillary, _, _ = sd.recvmsg(4096, socket.CMSG_SPACE(12))
        if ancillary and struct.unpack("3i", ancillary[0][2])[0] == pid:
            kept.append(message)
        if len(kept) == count:
            break
    return kept


def test_status_problems_say_when_the_courier_is_away_stale_or_off_the_broker(tmp_path: Path) -> None:
    assert status_problems(tmp_path, 1000.0) == ["sync: the courier is not running (no courier-status.json)"]
    (tmp_path / STATUS_FILE).write_text(json.dumps({"connected": True, "problems": [], "at": 1000.0}))
    assert status_problems(tmp_path, 1001.0) == []
    assert "has not reported" in status_problems(tmp_path, 1000.0 + STALE_SECONDS + 1)[0]
    (tmp_path / STATUS_FILE).write_text(json.dumps({"connected": False, "problems": ["disk (95% full)"], "at": 1.0}))
    assert status_problems(tmp_path, 2.0) == ["sync: disk (95% full)", "sync: the courier has not reached the broker"]


@pytest.mark.slow
def test_the_courier_runs_alone_and_shares_only_sqlite(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", ("gate-a",), workers=1)
    device = site.devices["gate-a"]
    notify = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sd, site.broker(), running_worker(site):
        sd.bind(str(notify))
        sd.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sd.settimeout(30)
        env = {**python_env(), "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "2000000"}
        courier = subprocess.Popen(
            python_argv("cli.main", "device", "run", "--only", "courier", "--config", str(device.config_path)),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            beats = from_main(sd, courier.pid, 4)  # every second (half the period) from its loop
            assert beats[0].startswith(b"READY=1") and beats[1:] == [b"WATCHDOG=1"] * 3
            # The "kiosk" is another process writing punches and their outbox rows into the same database.
            made = subprocess.run(python_argv("drills.punchgen", "--database", str(device.database), "--device-id",
                                              "gate-a", "--count", "30", "--rate", "200"),
                                  env=python_env(), capture_output=True, text=True, timeout=120, check=False)
            assert made.returncode == 0, made.stderr
            wait_for(lambda: len(server_seqs(site, "gate-a")) == 30, "30 punches stored on the server", timeout=60)
            status_path = device.state_dir / STATUS_FILE
            wait_for(lambda: status_path.exists() and status_problems(device.state_dir, time.time()) == [],
                     "a fresh courier status, connected", timeout=30)
        finally:
            courier.send_signal(signal.SIGTERM)
            out, _ = courier.communicate(timeout=60)
        assert courier.returncode == 0, out
        sd.settimeout(2)
        received: list[bytes] = []
        for _ in range(100):  # what was queued before it exited
            try:
                received += from_main(sd, courier.pid, 1)
            except TimeoutError:
                break
        assert b"STOPPING=1" in received


@requires_vision
def test_the_kiosk_alone_starts_no_courier_and_its_health_reads_the_courier_status(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", ("gate-a",), workers=1)  # a device with [sync] enabled
    device = site.devices["gate-a"]
    config = device.config()
    assert config.sync.enabled
    terminal = open_terminal(config, paced_replay=False, config_path=device.config_path, with_courier=False)
    try:
        terminal.courier_elsewhere = True  # as `edgehr device run --only kiosk` sets it
        assert terminal.courier is None
        assert "sync: the courier is not running (no courier-status.json)" in terminal.health().problems
        status = {"connected": True, "problems": [], "at": time.time()}
        (device.state_dir / STATUS_FILE).write_text(json.dumps(status))
        assert not [p for p in terminal.health().problems if p.startswith("sync")]
    finally:
        terminal.stop()
