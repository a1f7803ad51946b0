"""``edgehr server``: the central HR server."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    server = commands.add_parser("server", help="run the central HR server (ingest workers, HR API, pages)")
    sub = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run the ingest workers and the HR API")
    run.add_argument("--config", type=Path, required=True, help="server configuration file (TOML)")
    run.set_defaults(handler="sync.server.run:handle")

    token = sub.add_parser("token", help="HR API tokens (no password or token exists until one is created)")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_sub.add_parser("create", help="create an API token and print it once")
    create.add_argument("--config", type=Path, required=True, help="server configuration file (TOML)")
    create.add_argument("--role", required=True, choices=["admin", "hr", "it", "readonly"], help="what it may do")
    create.add_argument("--label", default="", help="who or what holds the token (shown in the audit log)")
    create.set_defaults(handler="sync.server.auth:create_token_cmd")

    user = sub.add_parser("user", help="HR user accounts (people sign in to the HR pages; machines use tokens)")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = user_sub.add_parser("add", help="add a user; the password is read without echo")
    add.add_argument("--config", type=Path, required=True, help="server configuration file (TOML)")
    add.add_argument("--username", required=True, help="sign-in name (lower-case letters, digits, . _ -)")
    add.add_argument("--role", required=True,
                     choices=["admin", "hr", "it", "readonly", "reviewer", "auditor", "employee"],
                     help="what the user may do (the API's roles; employee: self-service, needs --employee)")
    add.add_argument("--employee", default=None, metavar="NO",
                     help="the employee number an 'employee' account sees (its own punches, hours, requests)")
    add.add_argument("--stdin", action="store_true", help="read the password from one line of stdin")
    add.set_defaults(handler="sync.server.users:add_user_cmd")
