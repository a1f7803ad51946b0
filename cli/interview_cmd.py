"""``edgehr interview``: structured interviews at a booth (next wave; not built yet)."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    interview = commands.add_parser("interview", help="structured interview sessions and scoring (not built yet)")
    interview.add_argument("rest", nargs="*", help="arguments of the future command")
    interview.set_defaults(handler="cli.main:not_built")
