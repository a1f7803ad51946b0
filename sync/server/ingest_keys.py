"""The keys an ingest worker opens and seals messages with: the server's own identity (created on first
start, its public half exported for provisioning devices) and the devices' registered keys."""

from __future__ import annotations

import json
from pathlib import Path

from sync.keyfiles import identity_path, load_or_create_identity, public_json, write_atomic
from sync.protocol import LocalKeys, PeerKeys, PublicIdentity
from sync.server.store import HRStore, devices


def server_keys_path(state_dir: Path) -> Path:
    """The server's public keys, for provisioning devices (their ``sync.server_key_file``)."""
    return state_dir / "server-keys.json"


def load_server_identity(state_dir: Path) -> LocalKeys:
    """The server's keys (created on first start), with the public half exported for devices."""
    identity = load_or_create_identity(identity_path(state_dir))
    public = server_keys_path(state_dir)
    body = {"peer_id": "server", "current": public_json(identity.public), "previous": []}
    text = json.dumps(body, indent=1).encode()
    if not public.exists() or public.read_bytes() != text:
        write_atomic(public, text)
    return LocalKeys(identity)


class StoreDirectory:
    """Registered, active devices' public keys (current, and previous during a key rotation), read from
    the HR store for every message, by primary key. No cache on purpose: a key retired or a device revoked
    by any worker or by HR is refused on the very next message every worker opens. (A 5 s cache used to
    let another worker accept a retired key that long; the read costs one indexed SELECT per message, which
    carries up to 100 records: see ``edgehr bench sync``.)"""

    def __init__(self, store: HRStore) -> None:
        self._store = store

    def peer_keys(self, device_id: str) -> PeerKeys | None:
        found = devices.public_keys(self._store, device_id)
        if found is None:
            return None
        current, previous = found
        return PeerKeys(
            device_id,
            PublicIdentity.from_raw(*current),
            [PublicIdentity.from_raw(*previous)] if previous is not None else [],
        )
