"""HR user accounts: people sign in to the HR pages with a name and password; machines keep API tokens.

Passwords are kept only as scrypt hashes (``core.passwords``, the terminal panel's scheme). A sign-in
opens a server-side session: the cookie holds 32 random bytes, the table only their SHA-256, the role is
read from the user at every request (a disabled user's sessions stop at once), and each session ends
``SESSION_HOURS`` after it began. Sign-ins are throttled per client address with back-off
(``core.login_throttle``, shared with the terminal panel), counted before the slow password check.
Roles are the API's (``sync.server.auth.ROLES``), checked by the same role sets. An account of role
``employee`` is linked to one employee number (the only person whose data it may read); no other is.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.errors import InputError
from core.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password
from sync.server import auth
from sync.server.store import HRStore, audit
from sync.server.store.employees import NotFound

#: The session cookie (HttpOnly, SameSite=Strict): the pages' sign-in, and the API's for a signed-in browser.
SESSION_COOKIE = "edgehr_hr_session"
#: The header a signed-in browser's API change carries: its session's CSRF token.
CSRF_HEADER = "x-csrf-token"
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
SESSION_HOURS = 8
#: Sessions one user may hold at once (the oldest ends when a new one starts).
MAX_SESSIONS_PER_USER = 10


@dataclass(frozen=True)
class Session:
    principal: auth.Principal
    csrf: str


def check_new_user(username: str, role: str, password: str, employee_no: str | None = None) -> None:
    if not USERNAME.match(username):
        raise InputError(f"The user name {username!r} is not allowed.",
                         "Use 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter.")
    if role not in auth.ROLES:
        raise InputError(f"Unknown role {role!r}.", f"Choose one of: {', '.join(auth.ROLES)}.")
    if (role == "employee") != bool(employee_no):
        raise InputError("An employee account needs the employee number it belongs to; no other role has one.",
                         "Give the employee number with role 'employee' only (--employee NO, or the form's field).")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InputError(f"The password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
                         "Choose a longer password (a few unrelated words work well).")


def create_user(store: HRStore, username: str, role: str, password: str, *, actor: str,
                employee_no: str | None = None) -> int:
    """Add a user (role ``employee``: linked to ``employee_no``, an employee not erased); InputError when the
    name is taken or a field is not allowed, NotFound when there is no such employee."""
    employee_no = (employee_no or "").strip() or None
    check_new_user(username, role, password, employee_no)
    hashed = hash_password(password)
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM hr_users WHERE username = ?", (username,)).one() is not None:
            raise InputError(f"A user named {username!r} exists already.", "Choose another name.")
        if employee_no is not None and tx.execute(
            "SELECT 1 FROM employees WHERE employee_no = ? AND erased_at IS NULL", (employee_no,)
        ).one() is None:
            raise NotFound(f"There is no employee {employee_no!r}.", "Check the employee number on the Employees page.")
        new_id = int(tx.execute(
            "INSERT INTO hr_users (username, role, password_hash, created_at, created_by, employee_no)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (username, role, hashed, store.now_iso(), actor[:200], employee_no),
        ).scalar())
        audit.record(tx, store.now_iso(), actor, "user.create", f"user:{new_id}",
                     {"username": username, "role": role} | ({"employee_no": employee_no} if employee_no else {}))
    return new_id


def list_users(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return tx.execute(
            "SELECT id, username, role, employee_no, created_at, created_by, disabled_at FROM hr_users"
            " ORDER BY username"
        ).dicts()


def disable_user(store: HRStore, user_id: int, *, actor: str) -> bool:
    """Disable a user and end their sessions; False if no such active user."""
    now = store.now_iso()
    with store.db.transaction() as tx:
        changed = tx.execute("UPDATE hr_users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
                             (now, user_id)).rowcount
        if changed:
            tx.execute("DELETE FROM hr_sessions WHERE user_id = ?", (user_id,))
            audit.record(tx, now, actor, "user.disable", f"user:{user_id}")
    return bool(changed)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_password(store: HRStore, username: str, password: str) -> tuple[int, auth.Role, str] | None:
    """(id, role, name) of the active user ``username`` if ``password`` is theirs. An unknown name pays the
    same scrypt check, so the time taken says nothing of which names exist."""
    with store.db.read() as tx:
        row = tx.execute("SELECT id, role, password_hash FROM hr_users WHERE username = ? AND disabled_at IS NULL",
                         (username.strip().lower()[:64],)).one()
    ok = verify_password(row[2] if row else _dummy_hash(), password)
    return (int(row[0]), row[1], username.strip().lower()) if ok and row is not None else None


def start_session(store: HRStore, user_id: int, client: str) -> str:
    """A new session for ``user_id``; returns the cookie value (shown only to the browser that signed in)."""
    token = secrets.token_urlsafe(32)
    now = datetime.fromisoformat(store.now_iso())
    with store.db.transaction() as tx:
        tx.execute("DELETE FROM hr_sessions WHERE expires_at < ?", (now.isoformat(),))
        held = tx.execute("SELECT session_hash FROM hr_sessions WHERE user_id = ? ORDER BY created_at DESC",
                          (user_id,)).all()
        for (old,) in held[MAX_SESSIONS_PER_USER - 1:]:
            tx.execute("DELETE FROM hr_sessions WHERE session_hash = ?", (old,))
        tx.execute(
            "INSERT INTO hr_sessions (session_hash, user_id, csrf, client, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (_digest(token), user_id, secrets.token_urlsafe(24), client[:64], now.isoformat(),
             (now + timedelta(hours=SESSION_HOURS)).isoformat()),
        )
        audit.record(tx, now.isoformat(), f"user:{user_id}", "user.login", f"user:{user_id}", {"client": client[:64]})
    return token


def session(store: HRStore, cookie: str | None) -> Session | None:
    """The signed-in user of a session cookie (None: no cookie, unknown, expired, or user disabled)."""
    if not cookie or len(cookie) > 100:
        return None
    with store.db.read() as tx:
        row = tx.execute(
            "SELECT u.id, u.role, u.username, s.csrf, s.expires_at, u.employee_no FROM hr_sessions s JOIN hr_users u"
            " ON u.id = s.user_id WHERE s.session_hash = ? AND u.disabled_at IS NULL", (_digest(cookie),),
        ).one()
    if row is None or row[4] <= store.now_iso():
        return None
    return Session(auth.Principal(int(row[0]), row[1], row[2], kind="user", employee_no=row[5]), row[3])


def end_session(store: HRStore, cookie: str | None) -> None:
    if cookie and len(cookie) <= 100:
        with store.db.transaction() as tx:
            tx.execute("DELETE FROM hr_sessions WHERE session_hash = ?", (_digest(cookie),))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user_cmd(args: argparse.Namespace) -> int:
    """``edgehr server user add --config FILE --username NAME --role ROLE [--stdin]``: the password is read
    without echo (twice), or from one line of stdin."""
    from core.config.loader import load_toml_model
    from sync.server.config import ServerConfig
    from sync.server.store import database_url, open_hr_store

    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Repeat it: ") != password:
            raise InputError("The two passwords differ; no user was added.", "Run the command again.")
    employee_no = getattr(args, "employee", None)
    check_new_user(args.username, args.role, password, employee_no)
    config = load_toml_model(args.config, ServerConfig)
    store = open_hr_store(database_url(config.server.database_url, config.server.state_dir), config.server.timezone)
    try:
        user_id = create_user(store, args.username, args.role, password, actor="cli", employee_no=employee_no)
    finally:
        store.close()
    print(f"User {args.username} added (id {user_id}, role {args.role}); sign in at the HR pages' /login.")
    return 0
