"""``edgehr config``: check configuration files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    config = commands.add_parser("config", help="check a device or server configuration file")
    sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate FILE; exit 0 if valid, 2 listing every problem if not")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler="device.cli.config_cmd:check")


def check(args: argparse.Namespace) -> int:
    from device.config import check_file
    from device.errors import ConfigError

    try:
        model = check_file(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.render(str(args.file)), file=sys.stderr)
        print(f"{args.file}: invalid ({len(exc.problems)} problem(s))", file=sys.stderr)
        return 2
    print(f"{args.file}: valid {getattr(model, 'role', '')} configuration")
    return 0
