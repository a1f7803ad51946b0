"""``edgehr timesheets``: compute timesheets from self-contained cases (the rules' contract form)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    sheets = commands.add_parser("timesheets", help="compute timesheets from JSONL cases (the rules' contract)")
    sub = sheets.add_subparsers(dest="timesheets_command", metavar="ACTION", required=True)
    compute = sub.add_parser(
        "compute",
        help="one JSON case a line in, one result a line out (README: 'Timesheet rules')",
    )
    compute.add_argument("file", type=Path, metavar="FILE.jsonl", help="cases, one JSON object a line ('-': stdin)")
    compute.add_argument("--json", action="store_true", help="print one JSON object a line (the default form too)")
    compute.set_defaults(handler="cli.timesheets_cmd:compute")


def compute(args: argparse.Namespace) -> int:
    """Exit 0 when the file was read (a case that cannot be computed is reported on its own line), 1 when
    the file cannot be read."""
    from core.errors import InputError
    from sync.server.timesheet_contract import compute_line

    try:
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {args.file}: {exc}", "Give a readable UTF-8 JSONL file.") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            print(json.dumps(compute_line(line, number), ensure_ascii=False, sort_keys=False), flush=False)
    sys.stdout.flush()
    return 0
