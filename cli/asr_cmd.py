"""``edgehr asr``: speech recognition for interview booths (next wave; not built yet)."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    asr = commands.add_parser("asr", help="speech recognition tools for interview booths (not built yet)")
    asr.add_argument("rest", nargs="*", help="arguments of the future command")
    asr.set_defaults(handler="cli.main:not_built")
