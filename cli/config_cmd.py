"""``edgehr config``: check configuration files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


def register(commands: Any) -> None:
    config = commands.add_parser("config", help="check a device or server configuration file")
    sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate FILE; exit 0 if valid, 2 listing every problem if not")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler="cli.config_cmd:check")


def _model_for(data: dict[str, Any]) -> type[BaseModel]:
    role = data.get("role")
    if role == "server" or (role is None and "ingest" in data):
        from sync.server.config import ServerConfig

        return ServerConfig
    from device.config import DeviceConfig

    return DeviceConfig


def check_file(path: Path) -> BaseModel:
    """Validate a device or server config (chosen by its ``role`` key); raise ConfigError if invalid."""
    from core.config.loader import load_toml_model, read_toml

    _, data = read_toml(path)
    return load_toml_model(path, _model_for(data))


def check(args: argparse.Namespace) -> int:
    from core.errors import ConfigError

    try:
        model = check_file(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.render(str(args.file)), file=sys.stderr)
        print(f"{args.file}: invalid ({len(exc.problems)} problem(s))", file=sys.stderr)
        return 2
    print(f"{args.file}: valid {getattr(model, 'role', '')} configuration")
    return 0
