"""The device data key: encrypts face templates at rest (AES-256-GCM).

The key file lives in the state folder with mode 0600; a stolen database file without it holds only
ciphertext. Each ciphertext records the key id, so the key can be rotated without rewriting history
in one step.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import StoreError

KEY_BYTES = 32


class DataKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise StoreError(
                f"A data key must be {KEY_BYTES} bytes, this one has {len(key)}.",
                "Restore the key file from backup; a damaged key cannot decrypt templates.",
            )
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(key).hexdigest()[:16]

    def seal(self, plaintext: bytes, context: bytes) -> tuple[bytes, bytes]:
        """Return (nonce, ciphertext). ``context`` is bound as associated data (which row it belongs to)."""
        nonce = os.urandom(12)
        return nonce, self._aead.encrypt(nonce, plaintext, context)

    def open(self, nonce: bytes, ciphertext: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, context)
        except InvalidTag:
            raise StoreError(
                "A stored face template failed its integrity check.",
                "Re-enrol the employee; the template was altered or belongs to another key.",
            ) from None


def load_or_create(path: Path, *, sealed_rows: Callable[[], int] | None = None) -> DataKey:
    """Read the key file, creating it (0600, folder 0700) on first use.

    ``sealed_rows`` counts the rows already sealed with a data key in the database this key serves. A
    missing key file with sealed rows means the key was lost (a restore without ``keys/``, a deleted
    file), not a first use: a new key would be used beside rows it cannot open, and every reader of that
    table (the gallery, the server's template push) would then fail for everyone. So it is refused, and
    nothing is created. Every caller that opens the key next to a database passes it; None is only for
    a key that serves no database yet (tests, a first enrolment tool building a new site).
    """
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise StoreError(
                f"The data key {path} is readable by other users (mode {mode:o}).", f"Run: chmod 600 {path}"
            )
        return DataKey(path.read_bytes())
    sealed = sealed_rows() if sealed_rows is not None else 0
    if sealed:
        raise StoreError(
            f"The data key {path} is missing, but the database holds {sealed} row(s) sealed with a data key "
            "(face templates, snapshots or held downlinks); a new key could not open them. Nothing was changed.",
            f"Restore {path} from the backup taken with the database (chmod 600). Only if the key is truly lost: "
            "restore the database from the same older backup as a key you still have, or remove the rows it "
            "cannot open (withdraw the employees' face enrolment) and enrol them again.",
            code="data-key-missing",
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = AESGCM.generate_key(bit_length=256)
    # Written whole to a private temporary file, then linked into place: a process starting at the same
    # moment (two ingest workers, say) sees either no key or the complete key, never an empty file.
    fd, tmp = tempfile.mkstemp(prefix=".data-key-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process won the race: use its key
            return load_or_create(path, sealed_rows=sealed_rows)
    finally:
        os.unlink(tmp)
    return DataKey(key)
