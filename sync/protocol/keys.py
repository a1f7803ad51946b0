"""Keys and keyrings: who signs, who can decrypt, and key ids for rotation.

Each party (a device, or the server) has an *identity*: an Ed25519 key that signs
everything it sends and an X25519 key that others encrypt to. A key id is the first
8 bytes of SHA-256 of the raw 32-byte public key; envelopes name keys by id so a
receiver can hold the current and previous keys during a rotation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)

from .envelope import KEY_ID_LEN, PUBLIC_KEY_LEN
from .errors import ProtocolUsageError

# How many superseded identities a keyring keeps by default: one is enough for the
# messages in flight during a rotation; older keys are dropped on purpose.
DEFAULT_KEEP_PREVIOUS = 1


def key_id(public_raw: bytes) -> bytes:
    """The 8-byte id of a raw 32-byte public key (Ed25519 or X25519)."""
    if len(public_raw) != PUBLIC_KEY_LEN:
        raise ProtocolUsageError(
            f"A public key has {PUBLIC_KEY_LEN} bytes, got {len(public_raw)}.",
            "Pass the raw key.",
        )
    return hashlib.sha256(public_raw).digest()[:KEY_ID_LEN]


@dataclass(frozen=True, slots=True)
class PublicIdentity:
    """A party's public keys, as registered with its peer."""

    sign: Ed25519PublicKey
    box: X25519PublicKey
    sign_raw: bytes = field(init=False, repr=False)
    box_raw: bytes = field(init=False, repr=False)
    sign_id: bytes = field(init=False)
    box_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        # Cache the raw bytes and ids: they are needed for every message.
        sign_raw = self.sign.public_bytes_raw()
        box_raw = self.box.public_bytes_raw()
        object.__setattr__(self, "sign_raw", sign_raw)
        object.__setattr__(self, "box_raw", box_raw)
        object.__setattr__(self, "sign_id", key_id(sign_raw))
        object.__setattr__(self, "box_id", key_id(box_raw))

    @classmethod
    def from_raw(cls, sign: bytes, box: bytes) -> PublicIdentity:
        """Load from the two raw 32-byte public keys."""
        if len(sign) != PUBLIC_KEY_LEN or len(box) != PUBLIC_KEY_LEN:
            raise ProtocolUsageError(
                "Public keys must be raw 32-byte Ed25519 and X25519 keys.",
                "Check the device registration record.",
            )
        return cls(
            Ed25519PublicKey.from_public_bytes(sign),
            X25519PublicKey.from_public_bytes(box),
        )


@dataclass(frozen=True, slots=True)
class Identity:
    """A party's own private keys."""

    sign: Ed25519PrivateKey
    box: X25519PrivateKey
    public: PublicIdentity = field(init=False)

    def __post_init__(self) -> None:
        public = PublicIdentity(self.sign.public_key(), self.box.public_key())
        object.__setattr__(self, "public", public)

    @classmethod
    def generate(cls) -> Identity:
        """Fresh random keys (provisioning, rotation)."""
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, sign: bytes, box: bytes) -> Identity:
        """Load from raw 32-byte private keys (Ed25519 seed, X25519 scalar).

        Test vectors use fixed values here; production keys come from ``generate``.
        """
        if len(sign) != 32 or len(box) != 32:
            raise ProtocolUsageError("Private keys must be raw 32-byte values.", "Check the key file.")
        return cls(
            Ed25519PrivateKey.from_private_bytes(sign),
            X25519PrivateKey.from_private_bytes(box),
        )

    def private_bytes(self) -> tuple[bytes, bytes]:
        """Raw (sign, box) private keys for the caller's (encrypted) key store."""
        return self.sign.private_bytes_raw(), self.box.private_bytes_raw()


class LocalKeys:
    """Own identities: the current one signs and is advertised; previous ones decrypt.

    Immutable: ``rotated`` returns a new keyring so readers never see a half rotation.
    """

    __slots__ = ("_box", "current", "previous")

    def __init__(self, current: Identity, previous: Iterable[Identity] = ()) -> None:
        self.current = current
        self.previous = tuple(previous)
        self._box: dict[bytes, Identity] = {i.public.box_id: i for i in (*reversed(self.previous), current)}

    def box_identity(self, box_id: bytes) -> Identity | None:
        """The identity (current or previous) whose X25519 key id is ``box_id``."""
        return self._box.get(box_id)

    def rotated(self, new: Identity, keep: int = DEFAULT_KEEP_PREVIOUS) -> LocalKeys:
        """A keyring with ``new`` as current and the ``keep`` latest others previous."""
        return LocalKeys(new, (self.current, *self.previous)[:keep])

    def without(self, retired: Iterable[bytes]) -> LocalKeys:
        """A keyring without the previous identities named in ``retired`` (key ids)."""
        gone = set(retired)
        return LocalKeys(
            self.current,
            (i for i in self.previous if not {i.public.sign_id, i.public.box_id} & gone),
        )


class PeerKeys:
    """A peer's public identities: current (encrypt to it), previous (verify)."""

    __slots__ = ("_sign", "current", "peer_id", "previous")

    def __init__(
        self,
        peer_id: str,
        current: PublicIdentity,
        previous: Iterable[PublicIdentity] = (),
    ) -> None:
        self.peer_id = peer_id
        self.current = current
        self.previous = tuple(previous)
        self._sign: dict[bytes, Ed25519PublicKey] = {p.sign_id: p.sign for p in (*reversed(self.previous), current)}

    def verify_key(self, sign_id: bytes) -> Ed25519PublicKey | None:
        """The Ed25519 public key with ``sign_id``, current or previous, or None."""
        return self._sign.get(sign_id)

    def rotated(self, new: PublicIdentity, keep: int = DEFAULT_KEEP_PREVIOUS) -> PeerKeys:
        """The peer after it announced ``new`` (idempotent if already current)."""
        if new.sign_raw == self.current.sign_raw and new.box_raw == self.current.box_raw:
            return self
        return PeerKeys(self.peer_id, new, (self.current, *self.previous)[:keep])


class PeerDirectory(Protocol):
    """Where the server looks up a device's public keys (the HR store, with a cache)."""

    def peer_keys(self, device_id: str) -> PeerKeys | None:
        """The device's keys, or None if it is not registered (or was revoked)."""
        ...


class StaticDirectory:
    """A PeerDirectory over a mapping: tests, benchmarks and small deployments."""

    def __init__(self, peers: Mapping[str, PeerKeys] | Iterable[PeerKeys] = ()) -> None:
        items = peers.values() if isinstance(peers, Mapping) else peers
        self._peers: dict[str, PeerKeys] = {p.peer_id: p for p in items}

    def peer_keys(self, device_id: str) -> PeerKeys | None:
        """The registered keys of ``device_id``, or None."""
        return self._peers.get(device_id)

    def put(self, peer: PeerKeys) -> None:
        """Register or replace a device's keys."""
        self._peers[peer.peer_id] = peer

    def remove(self, device_id: str) -> None:
        """Revoke a device: its messages are rejected as unknown-device from now on."""
        self._peers.pop(device_id, None)
