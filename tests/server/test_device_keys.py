"""Device key rotation on the HR side over a real store: the API action queues the command, a hello's
new keys are registered only when signed by the current key (idempotently), the old key is retired once
the new one is in use; the device id follows the protocol's rule."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from sync.protocol import Identity, key_id
from sync.server.auth import create_token
from sync.server.ingest_keys import StoreDirectory
from sync.server.store import HRStore, devices, downlinks


def registration(device_id: str, identity: Identity) -> dict[str, str]:
    public = identity.public
    return {
        "id": device_id,
        "name": device_id,
        "site": "HQ",
        "sign_public_key": base64.b64encode(public.sign_raw).decode(),
        "sign_key_id": key_id(public.sign_raw).hex(),
        "box_public_key": base64.b64encode(public.box_raw).decode(),
        "box_key_id": key_id(public.box_raw).hex(),
    }


def test_rotation_request_registration_and_retirement(client: TestClient, store: HRStore) -> None:
    it = {"Authorization": f"Bearer {create_token(store, 'it')}"}
    readonly = {"Authorization": f"Bearer {create_token(store, 'readonly')}"}
    old, new, stranger = Identity.generate(), Identity.generate(), Identity.generate()
    assert client.post("/api/devices", json=registration("gate-1", old), headers=it).status_code == 201

    assert client.post("/api/devices/gate-1/rotate-keys", headers=readonly).status_code == 403
    reply = client.post("/api/devices/gate-1/rotate-keys", headers=it)
    assert reply.status_code == 202 and reply.json()["command_seq"] == 1
    [command] = downlinks.pending(store, "gate-1")
    assert command["type"] == "rotate-key" and command["body"] == {"rotate_device_keys": True}
    assert client.post("/api/devices/nope/rotate-keys", headers=it).status_code == 404

    directory = StoreDirectory(store)
    sign, box = new.public.sign_raw, new.public.box_raw
    # Only the current key may introduce new keys.
    with pytest.raises(Exception, match="not its current key"):
        devices.register_new_keys(store, "gate-1", sign, box, stranger.public.sign_id)
    assert devices.register_new_keys(store, "gate-1", sign, box, old.public.sign_id) == "rotated"
    assert devices.register_new_keys(store, "gate-1", sign, box, old.public.sign_id) == "unchanged"  # repeat
    peer = directory.peer_keys("gate-1")
    assert peer is not None and peer.current.sign_raw == sign
    assert [p.sign_raw for p in peer.previous] == [old.public.sign_raw]
    assert peer.verify_key(old.public.sign_id) is not None  # in-flight messages signed before the switch

    assert devices.retire_previous_keys(store, "gate-1", key_id(sign).hex())
    assert not devices.retire_previous_keys(store, "gate-1", key_id(sign).hex())
    peer = directory.peer_keys("gate-1")
    assert peer is not None and peer.previous == () and peer.verify_key(old.public.sign_id) is None
    shown = client.get("/api/devices/gate-1", headers=it).json()
    assert shown["sign_key_id"] == key_id(sign).hex() and shown["previous_sign_key_id"] is None
    assert shown["keys_rotated_at"] is not None


def test_device_ids_follow_the_protocol_rule(client: TestClient, store: HRStore) -> None:
    it = {"Authorization": f"Bearer {create_token(store, 'it')}"}
    for bad in ("Gate-1", "gate_1", "gate.1", "gate:1"):
        reply = client.post("/api/devices", json=registration(bad, Identity.generate()), headers=it)
        assert reply.status_code == 400 and "a-z, 0-9" in reply.json()["message"], bad
    good = client.post("/api/devices", json=registration("site-9-gate-1", Identity.generate()), headers=it)
    assert good.status_code == 201
