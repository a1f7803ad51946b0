"""core.sdnotify speaks systemd's notify protocol to a real datagram socket, and is silent without one."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from core import sdnotify


def test_ready_watchdog_and_stopping_reach_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
        assert sdnotify.ready("kiosk running", env)
        assert server.recv(4096) == b"READY=1\nSTATUS=kiosk running"
        dog = sdnotify.Watchdog(env)
        assert dog.enabled and dog.interval == 2.0
        assert dog.ping(100.0)
        assert not dog.ping(101.0)  # within half the period: nothing sent
        assert dog.ping(102.5)
        assert server.recv(4096) == b"WATCHDOG=1" and server.recv(4096) == b"WATCHDOG=1"
        assert sdnotify.stopping(env)
        assert server.recv(4096) == b"STOPPING=1"


def test_abstract_socket(tmp_path: Path) -> None:
    name = f"edgehr-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(5)
        assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert server.recv(4096) == b"READY=1"


def test_outside_systemd_nothing_happens(tmp_path: Path) -> None:
    assert not sdnotify.ready(environ={})
    assert not sdnotify.Watchdog({}).enabled and not sdnotify.Watchdog({}).ping(1.0)
    assert sdnotify.watchdog_seconds({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None  # another pid's
    assert not sdnotify.notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
