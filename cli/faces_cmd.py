"""``edgehr faces``: compare, liveness, calibrate, enrol."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    faces = commands.add_parser("faces", help="face verification, liveness, calibration and enrolment tools")
    sub = faces.add_subparsers(dest="faces_command", metavar="ACTION", required=True)
    compare = sub.add_parser("compare", help="score image pairs from a CSV (header a,b)")
    compare.add_argument("--root", type=Path, required=True, help="folder the paths in the CSV are relative to")
    compare.add_argument("--pairs", type=Path, required=True, help="CSV file with columns a,b")
    compare.add_argument("--json", action="store_true", help="one JSON object per line")
    compare.set_defaults(handler="cli.faces:compare")
    liveness = sub.add_parser("liveness", help="passive liveness of face images")
    liveness.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    liveness.add_argument("--json", action="store_true", help="one JSON object per line")
    liveness.add_argument("--config", type=Path, default=None,
                          help="device configuration file (TOML): its recognition.liveness_threshold is used")
    liveness.add_argument("--threshold", type=float, default=None, metavar="X",
                          help="probability of a real face needed, 0-1 (default: the config's "
                               "recognition.liveness_threshold, 0.9 without --config)")
    liveness.set_defaults(handler="cli.faces_liveness:liveness")
    calibrate = sub.add_parser(
        "calibrate", help="pick the match threshold for a target false-accept rate; report the 1:N margin trade-off"
    )
    calibrate.add_argument("--root", type=Path, required=True, help="labelled folder: ROOT/<person>/<image>")
    calibrate.add_argument("--far", type=float, default=1e-3, help="target false-accept rate (default 1e-3)")
    calibrate.add_argument("--enrol-k", type=int, default=1, metavar="K",
                           help="1:N margin simulation: templates enrolled per person, the rest probe (default 1)")
    calibrate.add_argument("--json", action="store_true", help="one JSON object per line")
    calibrate.set_defaults(handler="cli.faces_calibrate:calibrate")
    enrol = sub.add_parser("enrol", help="enrol employees from a folder of photos (ROOT/<employee_no>/<image>)")
    enrol.add_argument("--config", type=Path, required=True, help="device configuration file (TOML)")
    enrol.add_argument("--root", type=Path, required=True, help="folder of photos, one sub-folder per employee")
    enrol.add_argument("--consent-version", required=True, help="version of the consent text the employees signed")
    enrol.set_defaults(handler="cli.faces_enrol:run_enrol")
    # Consent withdrawal (kept in its own block: other subcommands above are edited independently).
    withdraw = sub.add_parser(
        "withdraw", help="an employee withdrew their consent: delete their face data and refuse enrolment"
    )
    withdraw.add_argument("--config", type=Path, required=True, help="device configuration file (TOML)")
    withdraw.add_argument("--employee", required=True, metavar="NO", help="the employee number")
    withdraw.add_argument("--actor", required=True, metavar="WHO", help="who records the withdrawal (audit log)")
    withdraw.set_defaults(handler="cli.faces_withdraw:run_withdraw")
