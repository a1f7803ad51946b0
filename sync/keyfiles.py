"""Protocol key files: a party's own identity (private) and its peer's public keys.

Small JSON files of base64 raw keys. An identity file is private (mode 0600, like the data key); a
public-keys file (the server's keys on a device) is rewritten atomically when the peer rotates keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from device.errors import ConfigError, ConfigProblem
from sync.protocol import Identity, PeerKeys, PublicIdentity
from sync.protocol.channel import SERVER_PEER_ID


def identity_path(state_dir: Path) -> Path:
    """Where a device or the server keeps its protocol identity (Ed25519 + X25519 private keys)."""
    return state_dir / "keys" / "sync-identity.json"


def load_or_create_identity(path: Path) -> Identity:
    """Read the identity file, creating fresh keys (0600, folder 0700) on first use."""
    if path.exists():
        return load_identity(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    identity = Identity.generate()
    save_identity(path, identity)
    return identity


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(data: dict[str, Any], key: str, path: Path) -> bytes:
    try:
        return base64.b64decode(str(data[key]), validate=True)
    except (KeyError, binascii.Error):
        raise ConfigError(str(path), [ConfigProblem(None, key, "missing or not base64")]) from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigProblem(None, "", "key file not found; provision the device")]) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), [ConfigProblem(None, "", f"cannot be read as JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), [ConfigProblem(None, "", "must hold a JSON object")])
    return data


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so a reader (or a power cut) sees the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_identity(path: Path, identity: Identity) -> None:
    sign, box = identity.private_bytes()
    write_atomic(path, json.dumps({"sign": _b64(sign), "box": _b64(box)}).encode(), mode=0o600)


def load_identity(path: Path) -> Identity:
    if path.exists() and path.stat().st_mode & 0o077:
        raise ConfigError(str(path), [ConfigProblem(None, "", f"private keys readable by others; chmod 600 {path}")])
    data = _read_json(path)
    return Identity.from_private_bytes(_unb64(data, "sign", path), _unb64(data, "box", path))


def public_json(public: PublicIdentity) -> dict[str, str]:
    return {"sign": _b64(public.sign_raw), "box": _b64(public.box_raw)}


def save_peer_keys(path: Path, peer: PeerKeys) -> None:
    body = {
        "peer_id": peer.peer_id,
        "current": public_json(peer.current),
        "previous": [public_json(p) for p in peer.previous],
    }
    write_atomic(path, json.dumps(body, indent=1).encode())


def _public(data: Any, path: Path) -> PublicIdentity:
    if not isinstance(data, dict):
        raise ConfigError(str(path), [ConfigProblem(None, "current", "must be an object with sign and box")])
    return PublicIdentity.from_raw(_unb64(data, "sign", path), _unb64(data, "box", path))


def load_peer_keys(path: Path) -> PeerKeys:
    """The server's public keys (current, and previous ones still accepted during a rotation)."""
    data = _read_json(path)
    previous = data.get("previous", [])
    if not isinstance(previous, list):
        raise ConfigError(str(path), [ConfigProblem(None, "previous", "must be a list")])
    return PeerKeys(
        str(data.get("peer_id", SERVER_PEER_ID)),
        _public(data.get("current"), path),
        [_public(p, path) for p in previous],
    )
