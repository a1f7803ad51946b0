"""``edgehr server``: the central HR server."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    server = commands.add_parser("server", help="run the central HR server (ingest workers, HR API, pages)")
    sub = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run the ingest workers and the HR API")
    run.add_argument("--config", type=Path, required=True, help="server configuration file (TOML)")
    run.set_defaults(handler="device.cli.main:not_built")
