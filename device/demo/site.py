"""``edgehr demo``: bring a local site up, print where it is, and take it all down on Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from pathlib import Path

from device.clock import SystemClock
from device.health import collect
from device.panel.app import create_app
from device.panel.serve import BackgroundServer
from device.paths import state_home
from device.store import open_store

DEMO_DEVICE_ID = "demo-gate-1"


def run_demo(args: argparse.Namespace) -> int:
    state: Path = args.state or state_home() / "demo"
    if args.reset and state.exists():
        import shutil

        shutil.rmtree(state)
    device_state = state / "device"
    device_state.mkdir(parents=True, exist_ok=True)
    store = open_store(device_state / "device.db", check_same_thread=False)
    clock = SystemClock(assume_synced=True)
    app = create_app(health=lambda: collect(DEMO_DEVICE_ID, store, device_state, clock), default_language="en")
    panel = BackgroundServer(app, "127.0.0.1", args.port)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        panel.start()
        print(f"edgehr demo site is up. State: {state}", flush=True)
        print(f"  device health page: {panel.url}/health", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop the demo
            stop.wait(timeout=args.seconds)
    finally:
        panel.stop()
        store.close()
        signal.signal(signal.SIGTERM, previous)
        print("edgehr demo site stopped.", flush=True)
    return 0
