"""Password hashes with scrypt (hashlib.scrypt): the terminal panel's accounts and the HR server's users.

A stored hash names its cost (``scrypt$n$r$p$salt$digest``), so a later, dearer cost leaves old hashes
readable. Only the hash is ever kept; checks compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

#: scrypt cost (16 MiB, n=2^14): about 0.2 s per check under load, more on a Pi 4; every guess pays it.
N, R, P = 2**14, 8, 1
#: The longest password hashed (a megabyte "password" must not cost more than a sentence).
MAX_PASSWORD_LENGTH = 256


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=32)
    enc = base64.b64encode
    return f"scrypt${N}${R}${P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed hash or an overlong password."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
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
