"""``edgehr device pin set|clear``: an employee's kiosk PIN for 1:1 mode (stored only as a scrypt hash).

The PIN is read from the terminal without echo (twice), or as one line from standard input when piped,
never from the command line, where it would stay in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from core.errors import InputError


def _read_pin() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("New PIN (4-8 digits): ")
        if getpass.getpass("Repeat the PIN: ") != first:
            raise InputError("The two PINs differ.", "Run the command again and type the same PIN twice.")
        return first
    return sys.stdin.readline().strip()


def pin_command(args: argparse.Namespace) -> int:
    from core.clock import SystemClock
    from device.config import load_device_config
    from device.runner import state_paths
    from device.store import open_store
    from device.store.pins import clear_pin, set_pin

    config = load_device_config(args.config)
    db_path, _ = state_paths(config)
    store = open_store(db_path)
    try:
        now = SystemClock().now()
        if args.pin_action == "set":
            set_pin(store, args.employee, _read_pin(), at=now, actor=args.actor)
            print(f"PIN set for employee {args.employee}.")
        else:
            removed = clear_pin(store, args.employee, at=now, actor=args.actor)
            print(f"PIN {'removed' if removed else 'was not set'} for employee {args.employee}.")
    finally:
        store.close()
    return 0
