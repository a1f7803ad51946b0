"""``edgehr``: one command for devices, the server, the demo site, models and benchmarks.

Building the parser imports only the small ``*_cmd`` modules; each subcommand's handler is named as
"module:function" and imported when it runs, so ``--help`` works without cameras, models or OpenCV.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from cli import (
    asr_cmd,
    backup_cmd,
    bench_cmd,
    chaos_cmd,
    config_cmd,
    demo_cmd,
    device_cmd,
    faces_cmd,
    interview_cmd,
    models_cmd,
    server_cmd,
    timesheets_cmd,
)
from core.errors import EdgehrError, NotBuiltError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_BUILT = 0, 1, 2, 3

_COMMANDS = (
    device_cmd,
    server_cmd,
    demo_cmd,
    config_cmd,
    models_cmd,
    faces_cmd,
    asr_cmd,
    interview_cmd,
    bench_cmd,
    chaos_cmd,
    backup_cmd,
    timesheets_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgehr",
        description="edgehr: offline face attendance and interview booths that sync to a central HR server.",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="least severe log level to print (default INFO)",
    )
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMANDS:
        module.register(commands)
    return parser


def _handler(target: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, function = target.partition(":")
    handler: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module_name), function)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from core.logs import setup_logging

    setup_logging(args.log_level, args.log_json)
    target = getattr(args, "handler", None)
    if target is None:  # a command group given without its subcommand
        parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "--help"])
        return EXIT_USAGE
    try:
        return _handler(target)(args)
    except NotBuiltError as exc:
        print(f"edgehr: {exc}", file=sys.stderr)
        return EXIT_NOT_BUILT
    except EdgehrError as exc:
        print(f"edgehr: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def not_built(args: argparse.Namespace) -> int:
    """Handler of commands named in the design whose part is not built yet: say so, never fake a result."""
    raise NotBuiltError(
        f"'edgehr {args.command}' is not built yet: it belongs to a later part of edgehr.",
        "Nothing was done. See README.md for what this version provides.",
    )


if __name__ == "__main__":
    sys.exit(main())
