"""API tokens and roles. No password or token exists until an admin token is created (printed once).

A token is 32 random bytes (URL-safe base64 with an ``ehr_`` prefix); only its SHA-256 is stored. A slow
password hash buys nothing for a secret with 256 bits of entropy, and a fast lookup by hash is what
every API call needs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import EdgehrError, InputError
from sync.server.store import HRStore, audit

Role = Literal["admin", "hr", "it", "readonly", "reviewer", "auditor", "employee"]
ROLES: tuple[Role, ...] = ("admin", "hr", "it", "readonly", "reviewer", "auditor", "employee")
#: Roles an API token may have: an employee is a person with a user account linked to their employee
#: number (sync/server/users.py), never a machine's token.
TOKEN_ROLES: tuple[Role, ...] = ("admin", "hr", "it", "readonly", "reviewer", "auditor")
PREFIX = "ehr_"

# Who may do what. Personal data (punches, timesheets, employees) is for admin, hr and readonly;
# devices and their keys for admin and it; changes to people's records for admin and hr.
READ_HR: frozenset[Role] = frozenset({"admin", "hr", "readonly"})
WRITE_HR: frozenset[Role] = frozenset({"admin", "hr"})
READ_DEVICES: frozenset[Role] = frozenset({"admin", "hr", "it", "readonly"})
WRITE_DEVICES: frozenset[Role] = frozenset({"admin", "it"})
ASSIGN_DEVICES: frozenset[Role] = frozenset({"admin", "hr"})
ADMIN: frozenset[Role] = frozenset({"admin"})
OPERATIONS: frozenset[Role] = frozenset({"admin", "it"})
# Interviews (issue 17): reviewers review, override and shortlist (HR and admins may too); auditors run the
# bias audit and alone read candidates' self-reported demographics (HR may record a candidate's form
# without reading it back); candidates' rights (export, erasure) are HR's and admins'; retention policies are
# set by admins and read by HR too.
REVIEW: frozenset[Role] = frozenset({"admin", "hr", "reviewer"})
AUDIT: frozenset[Role] = frozenset({"admin", "auditor"})
READ_DEMOGRAPHICS: frozenset[Role] = frozenset({"auditor"})
RECORD_DEMOGRAPHICS: frozenset[Role] = frozenset({"admin", "hr", "auditor"})
CANDIDATE_RIGHTS: frozenset[Role] = frozenset({"admin", "hr"})
#: Retention: admins set each site's policy; HR reads the policies and the deletion log.
READ_RETENTION: frozenset[Role] = frozenset({"admin", "hr"})
# Employee self-service (issue 19): an employee reads only their own punches, hours and correction requests
# and files requests; no other role set holds "employee", so every other route refuses them. HR decides.
SELF_SERVICE: frozenset[Role] = frozenset({"employee"})
DECIDE_REQUESTS: frozenset[Role] = WRITE_HR
#: Who may sign in to the HR pages (each page then checks its own roles).
PAGES: frozenset[Role] = frozenset(ROLES)


class AuthError(EdgehrError):
    """No usable token (HTTP 401) or a token whose role may not do this (HTTP 403)."""

    def __init__(self, what: str, fix: str, *, code: str, status: int) -> None:
        super().__init__(what, fix, code=code)
        self.status = status


@dataclass(frozen=True)
class Principal:
    """Who calls: an API token (``kind`` "token": ``token_id`` and its label) or a signed-in HR user
    (``kind`` "user": ``token_id`` is the user's id, ``label`` the user name; sync/server/users.py).
    ``employee_no`` is set for role "employee" only: the one employee whose data they may read."""

    token_id: int
    role: Role
    label: str
    kind: Literal["token", "user"] = "token"
    employee_no: str | None = None

    @property
    def actor(self) -> str:
        if self.kind == "user":
            return f"user:{self.token_id}:{self.label}"
        return f"token:{self.token_id}:{self.label}" if self.label else f"token:{self.token_id}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: HRStore, role: str, label: str = "", actor: str = "cli") -> str:
    """Create a token with ``role`` and return it: the only time it is ever visible."""
    if role not in TOKEN_ROLES:
        raise InputError(f"An API token cannot have the role {role!r}.",
                         f"Choose one of: {', '.join(TOKEN_ROLES)} (an employee signs in with a user account)."
                         if role in ROLES else f"Choose one of: {', '.join(TOKEN_ROLES)}.")
    token = PREFIX + secrets.token_urlsafe(32)
    with store.db.transaction() as tx:
        new_id = tx.execute(
            "INSERT INTO api_tokens (token_hash, role, label, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            (token_hash(token), role, label[:80], store.now_iso()),
        ).scalar()
        audit.record(tx, store.now_iso(), actor, "token.create", f"token:{new_id}", {"role": role, "label": label})
    return token


def revoke_token(store: HRStore, token_id: int, actor: str) -> bool:
    with store.db.transaction() as tx:
        changed = tx.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (store.now_iso(), token_id)
        ).rowcount
        if changed:
            audit.record(tx, store.now_iso(), actor, "token.revoke", f"token:{token_id}")
    return bool(changed)


def list_tokens(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return tx.execute("SELECT id, role, label, created_at, revoked_at FROM api_tokens ORDER BY id").dicts()


def authenticate(store: HRStore, token: str | None) -> Principal:
    if not token:
        raise AuthError(
            "No API token was given.",
            "Send 'Authorization: Bearer <token>' or log in.",
            code="unauthenticated",
            status=401,
        )
    wanted = token_hash(token)
    with store.db.read() as tx:
        row = tx.execute(
            "SELECT id, role, label, token_hash FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            (wanted,),
        ).one()
    # The lookup is by hash already; compare_digest keeps the final check constant-time anyway.
    if row is None or not hmac.compare_digest(row[3], wanted):
        raise AuthError(
            "The API token is unknown or revoked.", "Ask an admin for a new token.", code="unauthenticated", status=401
        )
    return Principal(int(row[0]), row[1], row[2])


def require(principal: Principal, allowed: frozenset[Role]) -> Principal:
    if principal.role not in allowed:
        raise AuthError(
            f"A token with role '{principal.role}' may not do this.",
            f"Use a token with one of the roles: {', '.join(sorted(allowed))}.",
            code="forbidden",
            status=403,
        )
    return principal


def create_token_cmd(args: Any) -> int:
    """``edgehr server token create --config FILE --role ROLE``: print a new token once."""
    from core.config.loader import load_toml_model
    from sync.server.config import ServerConfig
    from sync.server.store import database_url, open_hr_store

    config = load_toml_model(args.config, ServerConfig)
    store = open_hr_store(database_url(config.server.database_url, config.server.state_dir), config.server.timezone)
    try:
        token = create_token(store, args.role, args.label, actor="cli")
    finally:
        store.close()
    print(token)
    print(f"(role {args.role}; shown once: store it in a password manager now)", file=sys.stderr)
    return 0
