"""Protocol key files: a party's own identity (private) and its peer's public keys.

Small JSON files of base64 raw keys. An identity file is private (mode 0600, like the data key); a
public-keys file (the server's keys on a device) is rewritten atomically when the peer rotates keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from core.errors import ConfigError, ConfigProblem
from fleet.provision import BOX_KEY, ENROLMENT, IDENTITY_KEY, keys_dir, load_keys, refreshed_enrolment
from sync.protocol import Identity, LocalKeys, PeerKeys, PublicIdentity
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


# -- a device's own keys during a rotation (PROTOCOL.md section 12) ---------------------------------------
#
# The device's current identity lives in the provisioning files ``identity.key`` and ``box.key`` (PEM).
# A rotation adds one journal file, ``rotation.json`` (0600), written atomically at each step, so a
# process killed at any moment loses neither key:
#
#   1. begin:  {"pending": NEW, "previous": [...]}        NEW is announced in hello.new_keys
#   2. switch: {"switch_to": NEW, "previous": [OLD, ...]}  the commit point, on the server's ack
#   3. done:   PEM files and enrolment.json rewritten with NEW, then {"previous": [OLD]}
#
# Loading after a crash between 2 and 3 rolls forward (rewrites the PEM files from the journal). OLD
# stays in "previous": its X25519 half opens downlink the server sealed before it learnt NEW.

ROTATION_FILE = "rotation.json"
#: Superseded identities kept to open downlink sealed to them (one rotation back is enough).
KEEP_PREVIOUS = 1


@dataclass(frozen=True)
class DeviceKeyState:
    """The device's identities: current (signs), previous (decrypt only), pending (announced, not yet
    registered by the server: also decrypts, since the server seals to it once it has registered it)."""

    current: Identity
    previous: tuple[Identity, ...] = ()
    pending: Identity | None = None

    def local_keys(self) -> LocalKeys:
        """The keyring the device channel uses: the current key signs, every other one only decrypts."""
        others = ((self.pending,) if self.pending is not None else ()) + self.previous
        return LocalKeys(self.current, others)


def rotation_path(state_dir: Path) -> Path:
    return state_dir / "keys" / ROTATION_FILE


def _identity_json(identity: Identity) -> dict[str, str]:
    sign, box = identity.private_bytes()
    return {"sign": _b64(sign), "box": _b64(box)}


def _identity_of(data: Any, path: Path, what: str) -> Identity:
    if not isinstance(data, dict):
        raise ConfigError(str(path), [ConfigProblem(None, what, "must be an object with sign and box")])
    return Identity.from_private_bytes(_unb64(data, "sign", path), _unb64(data, "box", path))


def _same(a: Identity, b: Identity) -> bool:
    return a.public.sign_raw == b.public.sign_raw and a.public.box_raw == b.public.box_raw


def _write_journal(
    path: Path, *, pending: Identity | None = None, switch_to: Identity | None = None, previous: tuple[Identity, ...]
) -> None:
    body: dict[str, Any] = {"previous": [_identity_json(p) for p in previous[:KEEP_PREVIOUS]]}
    if pending is not None:
        body["pending"] = _identity_json(pending)
    if switch_to is not None:
        body["switch_to"] = _identity_json(switch_to)
    write_atomic(path, json.dumps(body).encode(), mode=0o600)


def _write_current(state_dir: Path, identity: Identity) -> None:
    def pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    folder = keys_dir(state_dir)
    write_atomic(folder / IDENTITY_KEY, pem(identity.sign), mode=0o600)
    write_atomic(folder / BOX_KEY, pem(identity.box), mode=0o600)


def _write_enrolment(state_dir: Path, identity: Identity) -> None:
    """Make ``keys/enrolment.json`` (what the operator sends the HR server) show ``identity``'s public
    keys; written atomically and only when it differs."""
    text = refreshed_enrolment(state_dir, identity.public.sign_raw, identity.public.box_raw)
    if text is not None:
        write_atomic(keys_dir(state_dir) / ENROLMENT, text.encode("utf-8"))


def load_device_keys(state_dir: Path) -> DeviceKeyState:
    """The device's keys from its provisioning files and rotation journal, finishing a switch that a
    killed process left half done."""
    keys = load_keys(state_dir)
    current = Identity(keys.identity, keys.box)
    path = rotation_path(state_dir)
    if not path.exists():
        return DeviceKeyState(current)
    if path.stat().st_mode & 0o077:
        raise ConfigError(str(path), [ConfigProblem(None, "", f"private keys readable by others; chmod 600 {path}")])
    data = _read_json(path)
    raw_previous = data.get("previous", [])
    if not isinstance(raw_previous, list):
        raise ConfigError(str(path), [ConfigProblem(None, "previous", "must be a list")])
    previous = tuple(_identity_of(p, path, "previous") for p in raw_previous)
    if data.get("switch_to") is not None:
        new = _identity_of(data["switch_to"], path, "switch_to")
        if not _same(new, current):
            _write_current(state_dir, new)
        _write_enrolment(state_dir, new)  # before the journal forgets switch_to: a crash here redoes both
        _write_journal(path, previous=previous)
        return DeviceKeyState(new, previous)
    # A rotation finished before enrolment.json was part of step 3 left the file showing the old keys.
    _write_enrolment(state_dir, current)
    pending = _identity_of(data["pending"], path, "pending") if data.get("pending") is not None else None
    if pending is not None and _same(pending, current):
        pending = None
    return DeviceKeyState(current, previous, pending)


def begin_rotation(state_dir: Path) -> DeviceKeyState:
    """Make a new identity pending (durably) unless one is pending already: a repeated rotate command or a
    restart announces the same keys again."""
    state = load_device_keys(state_dir)
    if state.pending is not None:
        return state
    pending = Identity.generate()
    _write_journal(rotation_path(state_dir), pending=pending, previous=state.previous)
    return DeviceKeyState(state.current, state.previous, pending)


def commit_switch(state_dir: Path, pending_sign_id: bytes) -> DeviceKeyState:
    """Step 2 alone (the commit point): the pending identity becomes current once this returns, even if
    the process dies before the PEM files are rewritten. Idempotent when already switched."""
    state = load_device_keys(state_dir)
    if state.pending is None or state.pending.public.sign_id != pending_sign_id:
        if state.current.public.sign_id == pending_sign_id:
            return state  # switched before
        raise ConfigError(
            str(rotation_path(state_dir)),
            [ConfigProblem(None, "pending", f"no pending key {pending_sign_id.hex()} to switch to")],
        )
    previous = (state.current, *state.previous)[:KEEP_PREVIOUS]
    _write_journal(rotation_path(state_dir), switch_to=state.pending, previous=previous)
    return DeviceKeyState(state.pending, previous)


def complete_rotation(state_dir: Path, pending_sign_id: bytes) -> DeviceKeyState:
    """Switch to the pending identity (the server registered it): commit, then rewrite the key files."""
    commit_switch(state_dir, pending_sign_id)
    return load_device_keys(state_dir)  # rolls the commit forward
