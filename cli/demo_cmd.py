"""``edgehr demo``: a whole attendance site on this machine (broker, server, one replayed terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    demo = commands.add_parser("demo", help="run a local demo site on 127.0.0.1 until Ctrl-C")
    demo.add_argument("--seconds", type=float, default=None, help="stop by itself after this many seconds")
    demo.add_argument("--state", type=Path, default=None, help="state folder (default ~/.local/state/edgehr/demo)")
    demo.add_argument("--reset", action="store_true", help="start from empty state")
    demo.add_argument("--camera", default=None, help="use a real camera (index or /dev path) instead of the replay")
    demo.add_argument("--faces", type=Path, default=None, help="enrol the photos in DIR/<person>/*.jpg instead")
    demo.add_argument("--port", type=int, default=8080, help="port of the kiosk and panel pages (default 8080)")
    demo.add_argument("--server-port", type=int, default=8081, help="port of the HR server (default 8081)")
    demo.add_argument("--challenge", choices=("off", "turn"), default="off",
                      help="active liveness challenge: turn = ask for a head turn after passive liveness")
    demo.set_defaults(handler="drills.demo.site:run_demo")
