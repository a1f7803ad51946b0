"""The courier as a process of its own: ``edgehr device run --only courier`` (``edgehr-courier.service``) and
``python -m device.courier.courier --config FILE``.

Apart from the kiosk it shares nothing but the SQLite database (WAL: the kiosk writes punches and their
outbox rows, the courier reads and marks them) and one small file: ``<state>/courier-status.json``, which it
rewrites every few seconds (connected to the broker or not, its problems) so the kiosk process's health
page can say whether the courier reaches the broker (``edgehr-update --require-broker``). systemd hears
``READY=1`` once it is built and ``WATCHDOG=1`` from its loop: a courier stuck for ``WatchdogSec`` is
restarted.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from core import sdnotify
from core.clock import Clock, SystemClock
from core.errors import EdgehrError
from core.signals import stop_on_signals
from device.config.device import DeviceConfig
from device.courier.publisher import CourierOptions
from device.courier.status_file import STATUS_SECONDS, write_status
from device.store import Store, open_store


class _Link(Protocol):
    @property
    def connected(self) -> bool: ...


class RunnableCourier(Protocol):
    """What this module needs of ``device.courier.courier.Courier`` (passed in through ``build``, so that
    module can hand ``python -m device.courier.courier`` to this one without an import circle)."""

    on_round: Callable[[float], None]
    problems: list[str]

    @property
    def link(self) -> _Link: ...

    def run(self) -> None: ...


C = TypeVar("C", bound=RunnableCourier)
C_co = TypeVar("C_co", bound=RunnableCourier, covariant=True)


class Build(Protocol[C_co]):
    """``device.courier.courier.build``."""

    def __call__(self, config: DeviceConfig, store: Store, *, stop: threading.Event, config_path: Path | None,
                 clock: Clock, options: CourierOptions) -> C_co: ...


def run_courier(config: DeviceConfig, config_path: Path | None, *, build: Build[C], ack_timeout: float = 10.0,
                database: Path | None = None, after_start: Callable[[C], None] | None = None) -> int:
    """Run the courier alone until SIGINT/SIGTERM, telling systemd it is ready and alive."""
    if not config.sync.enabled:
        raise EdgehrError("sync.enabled is false: there is no courier to run.",
                          "Enable [sync] in the device config, or do not start edgehr-courier.service.")
    store = open_store(database or config.device.state_dir / "device.db", check_same_thread=False)
    try:
        with stop_on_signals(threading.Event()) as stop:
            options = CourierOptions.of(config, ack_timeout_seconds=ack_timeout)
            courier = build(config, store, stop=stop, config_path=config_path, clock=SystemClock(), options=options)
            watchdog, next_status = sdnotify.Watchdog(), 0.0

            def alive(now: float) -> None:  # from every round of the courier's loop
                nonlocal next_status
                watchdog.ping(now)
                if now >= next_status:
                    next_status = now + STATUS_SECONDS
                    write_status(config.device.state_dir, courier.link.connected, courier.problems, time.time())

            courier.on_round = alive
            if after_start is not None:
                after_start(courier)
            sdnotify.ready(f"courier {config.device.id} running")
            try:
                courier.run()
            finally:
                sdnotify.stopping()
    finally:
        store.close()
    return 0


def main(argv: list[str] | None, *, build: Build[C], after_start: Callable[[C], None] | None = None) -> int:
    """``python -m device.courier.courier --config FILE``: the courier as its own process."""
    from core.logs import setup_logging
    from device.config.loader import load_device_config

    parser = argparse.ArgumentParser(prog="python -m device.courier.courier", description=main.__doc__)
    parser.add_argument("--config", type=Path, required=True, help="device configuration file (TOML)")
    parser.add_argument("--database", type=Path, help="device database (default: <state_dir>/device.db)")
    parser.add_argument(
        "--ack-timeout", type=float, default=10.0, help="seconds to wait for the server's ack before resending"
    )
    args = parser.parse_args(argv)
    try:
        config = load_device_config(args.config)
        setup_logging(config.logging.level, config.logging.json_lines)
        return run_courier(config, args.config, build=build, ack_timeout=args.ack_timeout, database=args.database,
                           after_start=after_start)
    except EdgehrError as exc:
        print(f"courier: error: {exc}", file=sys.stderr)
        return 1
