"""``edgehr backup``: back up, restore or list a device's or the server's SQLite database."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    backup = commands.add_parser(
        "backup",
        help="SQLite online backups: backup --db F --out DIR [--keep N] | restore --from B --db F | list --out DIR",
    )
    backup.add_argument("rest", nargs=argparse.REMAINDER, metavar="ACTION ...", help="see `edgehr backup -- --help`")
    backup.set_defaults(handler="cli.backup_cmd:handle")


def handle(args: argparse.Namespace) -> int:
    from core.backup import main

    return main(list(args.rest))
