"""The device panel's admin login: one password set at provisioning, sessions, CSRF tokens, throttling.

No password exists until an operator sets one at the device (``edgehr device admin-password``); until
then every admin page says how, and nobody can log in. Only an scrypt hash is stored, in the state
folder's keys (mode 0600), and read at each login, so a new password applies at once.

Sessions live in memory (a restart logs admins out): a random cookie (HttpOnly, SameSite=Strict, Secure
when the panel is served over HTTPS) and a per-session CSRF token every form sends back. Logins are
throttled per client address, each attempt counted before its password is checked (login_throttle.py),
so the password cannot be guessed quickly over the LAN and a guesser does not lock the admin out.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from device.panel.login_throttle import MAX_FAILURES as MAX_FAILURES  # re-exported: the tests' and pages' limit
from device.panel.login_throttle import LoginThrottle

COOKIE = "edgehr_admin"
MIN_PASSWORD_LENGTH = 10
#: scrypt cost (16 MiB, n=2^14): about 0.2 s per check here under load, more on a Pi 4; every guess pays it.
_N, _R, _P = 2**14, 8, 1
SESSION_IDLE_SECONDS = 30 * 60
SESSION_MAX_SECONDS = 8 * 3600
MAX_SESSIONS = 16


def password_path(state_dir: Path) -> Path:
    return state_dir / "keys" / "admin-password"


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    enc = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.strip().split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def write_password(path: Path, password: str) -> None:
    """Store the hash of ``password`` (0600, written whole then renamed into place)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"The admin password has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} are needed.",
            "Choose a longer password (a few unrelated words work well).",
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".admin-password-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(hash_password(password) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Session:
    csrf: str
    client: str
    created: float
    last_seen: float

    @property
    def actor(self) -> str:
        return f"panel:admin@{self.client}"


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

    def login(self, password: str, client: str) -> str | None:
        """A new session cookie value, or None (wrong password or none set); LoginThrottled when the client
        address has to wait. The attempt is counted before the (slow) check, so parallel guesses cannot
        slip past the limit."""
        if not self.configured():
            return None
        try:
            stored = self.password_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        self.throttle.begin(client)  # raises LoginThrottled
        if not verify_password(stored, password):
            return None
        self.throttle.succeeded(client)
        token = secrets.token_urlsafe(32)
        now = self._now()
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:  # the least recently used one goes
                oldest = min(self._sessions, key=lambda k: self._sessions[k].last_seen)
                del self._sessions[oldest]
            self._sessions[_digest(token)] = Session(secrets.token_urlsafe(32), client, now, now)
        return token

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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def set_password_command(args: argparse.Namespace) -> int:
    """``edgehr device admin-password --config FILE [--stdin]``: set (or change) the panel's admin password."""
    from device.config import load_device_config

    config = load_device_config(args.config)
    path = password_path(config.device.state_dir)
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("New admin password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise InputError("The two passwords differ; nothing was changed.", "Run the command again.")
    write_password(path, password)
    print(f"Admin password set ({path}); it applies at the next login.")
    return 0
