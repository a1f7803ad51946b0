"""The device panel's accounts: the admin (a password set at the device), viewers, sessions, CSRF, throttling.

No password exists until one is set at the device: ``edgehr device admin-password``, or on a first run the
panel's own screen (a loopback browser) offers to create the admin account (routes/login.py); over the LAN
every page says how, and nobody can log in. Only scrypt hashes are stored, in the state folder's keys
(mode 0600): ``admin-password`` (the account "admin") and ``panel-accounts.json`` (further accounts, each
"admin" or "viewer": a viewer sees every page and changes nothing). They are read at each login, so a new
password applies at once.

Sessions live in memory (a restart logs everyone out): a random cookie (HttpOnly, SameSite=Strict, Secure
when the panel is served over HTTPS) and a per-session CSRF token every form sends back. Logins are
throttled per client address, each attempt counted before its password is checked (core/login_throttle.py),
so the password cannot be guessed quickly over the LAN and a guesser does not lock the admin out.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import InputError
from core.login_throttle import MAX_FAILURES as MAX_FAILURES  # re-exported: the tests' and pages' limit
from core.login_throttle import LoginThrottle
from core.passwords import MAX_PASSWORD_LENGTH
from core.passwords import hash_password as hash_password
from core.passwords import verify_password as verify_password

COOKIE = "edgehr_admin"
MIN_PASSWORD_LENGTH = 10
SESSION_IDLE_SECONDS = 30 * 60
SESSION_MAX_SECONDS = 8 * 3600
MAX_SESSIONS = 16
ADMIN_USER = "admin"
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MAX_ACCOUNTS = 32

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")


def password_path(state_dir: Path) -> Path:
    return state_dir / "keys" / "admin-password"


def accounts_path(password_file: Path) -> Path:
    """The further accounts kept beside the admin password."""
    return password_file.parent / "panel-accounts.json"


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"The password has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} are needed.",
            "Choose a longer password (a few unrelated words work well).",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"The password is longer than {MAX_PASSWORD_LENGTH} characters.", "Choose a shorter one.")


def _write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600, written whole then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_password(path: Path, password: str) -> None:
    """Store the hash of the admin account's ``password`` (0600, written whole then renamed into place)."""
    check_password(password)
    _write_secret(path, hash_password(password) + "\n")


def read_accounts(password_file: Path) -> dict[str, dict[str, str]]:
    """name -> {"role", "hash"} of the further accounts ({} when none or unreadable)."""
    try:
        data = json.loads(accounts_path(password_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and v.get("role") in ROLES and "hash" in v}


def write_account(password_file: Path, name: str, role: str, password: str) -> None:
    """Add or change the account ``name`` ("admin" is the admin password itself)."""
    if name == ADMIN_USER:
        if role != "admin":
            raise InputError("The account 'admin' is always an admin.", "Choose another name for a viewer.")
        write_password(password_file, password)
        return
    if not USERNAME.match(name):
        raise InputError(f"The account name {name!r} is not allowed.",
                         "Use 2-32 lower-case letters, digits, '.', '_' or '-', starting with a letter.")
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}.", f"Choose one of: {', '.join(ROLES)}.")
    check_password(password)
    accounts = read_accounts(password_file)
    if name not in accounts and len(accounts) >= MAX_ACCOUNTS:
        raise InputError(f"This terminal already has {MAX_ACCOUNTS} accounts.", "Remove one first.")
    accounts[name] = {"role": role, "hash": hash_password(password)}
    _write_secret(accounts_path(password_file), json.dumps(accounts, indent=1, sort_keys=True) + "\n")


def remove_account(password_file: Path, name: str) -> bool:
    accounts = read_accounts(password_file)
    if accounts.pop(name, None) is None:
        return False
    _write_secret(accounts_path(password_file), json.dumps(accounts, indent=1, sort_keys=True) + "\n")
    return True


@dataclass
class Session:
    csrf: str
    client: str
    created: float
    last_seen: float
    user: str = ADMIN_USER
    role: Role = "admin"

    @property
    def actor(self) -> str:
        return f"panel:{self.user}@{self.client}"

    @property
    def can_change(self) -> bool:
        return self.role == "admin"


class AdminAuth:
    """Checks the admin password and keeps the logged-in sessions. Thread-safe."""

    def __init__(self, password_file: Path, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.password_file = password_file
        self._now = monotonic
        self._sessions: dict[str, Session] = {}  # sha256(cookie) -> session
        self.throttle = LoginThrottle(monotonic=monotonic)
        self._lock = threading.Lock()

    def configured(self) -> bool:
        return self.password_file.is_file()

    def retry_after(self, client: str) -> float:
        """Seconds the client address must wait before its next login attempt (0: none)."""
        return self.throttle.retry_after(client)

    def login(self, password: str, client: str, user: str = ADMIN_USER) -> str | None:
        """A new session cookie value, or None (wrong name or password, or none set); LoginThrottled when the
        client address has to wait. The attempt is counted before the (slow) check, so parallel guesses
        cannot slip past the limit."""
        if not self.configured():
            return None
        user = (user or ADMIN_USER).strip().lower()
        stored, role = self._stored(user)
        self.throttle.begin(client)  # raises LoginThrottled; an unknown name counts as a failure too
        # An unknown name pays the same scrypt check as a known one: the time says nothing of who exists.
        if not verify_password(stored or _dummy_hash(), password) or stored is None:
            return None
        self.throttle.succeeded(client)
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:  # the least recently used one goes
                oldest = min(self._sessions, key=lambda k: self._sessions[k].last_seen)
                del self._sessions[oldest]
            self._sessions[_digest(token)] = Session(secrets.token_urlsafe(32), client, now, now, user, role)
        return token

    def _stored(self, user: str) -> tuple[str | None, Role]:
        """(the stored hash of ``user`` or None, the account's role)."""
        if user == ADMIN_USER:
            try:
                return self.password_file.read_text(encoding="ascii"), "admin"
            except (OSError, UnicodeDecodeError):
                return None, "admin"
        account = read_accounts(self.password_file).get(user)
        if account is None:
            return None, "viewer"
        return account["hash"], "admin" if account["role"] == "admin" else "viewer"

    def create_first_admin(self, password: str) -> bool:
        """First run: set the admin password if none exists yet (False if one does: nothing is changed)."""
        check_password(password)
        with self._lock:
            if self.configured():
                return False
            write_password(self.password_file, password)
            return True

    def session(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        now = self._now()
        with self._lock:
            key = _digest(cookie)
            found = self._sessions.get(key)
            if found is None:
                return None
            if now - found.last_seen > SESSION_IDLE_SECONDS or now - found.created > SESSION_MAX_SECONDS:
                del self._sessions[key]
                return None
            found.last_seen = now
            return found

    def logout(self, cookie: str | None) -> None:
        if cookie:
            with self._lock:
                self._sessions.pop(_digest(cookie), None)


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), (sent or "").encode())


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def set_password_command(args: argparse.Namespace) -> int:
    """``edgehr device admin-password --config FILE [--stdin] [--user NAME --role viewer|admin]``: set (or
    change) the panel's admin password, or another account's."""
    from device.config import load_device_config

    config = load_device_config(args.config)
    path = password_path(config.device.state_dir)
    user, role = getattr(args, "user", None) or ADMIN_USER, getattr(args, "role", None) or "admin"
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"New password for {user}: ")
        if getpass.getpass("Repeat it: ") != password:
            raise InputError("The two passwords differ; nothing was changed.", "Run the command again.")
    write_account(path, user, role, password)
    what = "Admin password" if user == ADMIN_USER else f"Password of {user} ({role})"
    print(f"{what} set ({path.parent}); it applies at the next login.")
    return 0
