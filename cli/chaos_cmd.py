"""``edgehr chaos``: sync under faults with real processes; counts compare the device's and server's stores."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    chaos = commands.add_parser("chaos", help="run sync under injected faults and report lost/duplicated records")
    chaos.add_argument("--records", type=int, default=2000)
    chaos.add_argument("--device-kills", type=int, default=3)
    chaos.add_argument("--broker-restarts", type=int, default=2)
    chaos.add_argument("--worker-kills", type=int, default=2)
    chaos.add_argument(
        "--server-down-seconds",
        type=float,
        default=5.0,
        help="how long the whole server (every ingest worker) is down once during the run (0: never)",
    )
    chaos.add_argument("--rate", type=float, default=100.0, help="punches per second the generator writes")
    chaos.add_argument("--workdir", help="folder for the drill's site and logs (default: a new temporary folder)")
    chaos.add_argument("--json", action="store_true")
    chaos.set_defaults(handler="drills.chaos:handle")
