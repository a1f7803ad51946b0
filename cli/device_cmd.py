"""``edgehr device``: run a terminal, provision its keys."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    device = commands.add_parser("device", help="run this terminal or booth; provision its keys")
    sub = device.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run the kiosk loop, the local panel and the sync courier")
    run.add_argument("--config", type=Path, required=True, help="device configuration file (TOML)")
    run.add_argument(
        "--only", choices=["all", "kiosk", "panel", "courier"], default="all",
        help="all (default: one process, as the demo runs it); kiosk: the kiosk loop, camera and GPIO, serving "
             "its live screen on a local socket; panel: the kiosk page and admin panel (live state from that "
             "socket, the rest from SQLite); courier: the sync courier alone (they share SQLite)",
    )
    run.set_defaults(handler="device.runner:run_device")
    provision = sub.add_parser("provision", help="make device keys and a broker certificate request")
    provision.add_argument("--config", type=Path, required=True, help="device configuration file (TOML)")
    provision.add_argument(
        "--rotate", action="store_true", help="make new keys; the replaced ones are kept as *.previous"
    )
    provision.set_defaults(handler="cli.device_cmd:provision_command")
    password = sub.add_parser("admin-password", help="set or change the local panel's admin password")
    password.add_argument("--config", type=Path, required=True, help="device configuration file (TOML)")
    password.add_argument("--stdin", action="store_true", help="read the password from one line of stdin")
    password.add_argument("--user", default="admin", help="account name (default admin; others are extra accounts)")
    password.add_argument("--role", choices=["admin", "viewer"], default="admin",
                          help="what the account may do (a viewer sees every page and changes nothing)")
    password.set_defaults(handler="device.panel.admin_auth:set_password_command")
    pin = sub.add_parser("pin", help="set or clear an employee's kiosk PIN (1:1 mode with claim.pin)")
    pin.add_argument("pin_action", choices=["set", "clear"], help="set (PIN read from the terminal or stdin) or clear")
    pin.add_argument("--config", type=Path, required=True, help="device configuration file (TOML)")
    pin.add_argument("--employee", required=True, help="employee number")
    pin.add_argument("--actor", default="admin", help="who makes the change (written to the audit log)")
    pin.set_defaults(handler="cli.device_pin:pin_command")


def provision_command(args: argparse.Namespace) -> int:
    """Handler of ``edgehr device provision``."""
    from device.config import load_device_config
    from fleet.provision import describe, provision

    config = load_device_config(args.config)
    result = provision(config.device.id, config.device.state_dir, rotate=args.rotate)
    print(describe(result, config.device.id, config.sync.cert_file, config.sync.key_file))
    return 0
