"""Key rotation: server and device keys change while messages are in flight."""

from __future__ import annotations

import pytest

from sync.protocol import (
    AckBody,
    DeviceChannel,
    HelloBody,
    Identity,
    LocalKeys,
    PeerKeys,
    PublicIdentity,
    PublicKeys,
    RecordsBody,
    RotateKeyBody,
    ServerChannel,
    Stamp,
    StaticDirectory,
    UnknownKey,
    decode_envelope,
)
from sync.protocol.bench import typical_punch
from sync.protocol.vectors import device_identity, server_identity

DEVICE = "gate-01"
STAMP = Stamp(1_767_225_600_000, True)
DEV_ID, SRV_ID = device_identity(), server_identity()


def channels() -> tuple[DeviceChannel, ServerChannel]:
    dev = DeviceChannel(DEVICE, LocalKeys(DEV_ID), PeerKeys("server", SRV_ID.public))
    srv = ServerChannel(LocalKeys(SRV_ID), StaticDirectory([PeerKeys(DEVICE, DEV_ID.public)]))
    return dev, srv


def punch(seq: int) -> RecordsBody:
    return RecordsBody(records=[typical_punch(seq, DEVICE)])


def test_server_key_rotation() -> None:
    dev, srv = channels()
    old_out = dev.seal(punch(1), seq=1, stamp=STAMP)  # in flight
    new_server = Identity.generate()
    srv = srv.with_keys(srv.keys.rotated(new_server))
    # The server announces its new keys in a rotate-key command signed by the OLD key.
    cmd = RotateKeyBody(
        command_seq=1,
        server_keys=PublicKeys(sign=new_server.public.sign_raw, box=new_server.public.box_raw),
    )
    srv_old_signer = ServerChannel(LocalKeys(SRV_ID), srv.devices)
    announce = srv_old_signer.seal(DEVICE, cmd, seq=1, stamp=STAMP)
    body = dev.open(announce.topic, announce.payload).body
    assert isinstance(body, RotateKeyBody) and body.server_keys is not None
    dev = dev.with_keys(server=dev.server.rotated(PublicIdentity.from_raw(body.server_keys.sign, body.server_keys.box)))
    assert srv.open(old_out.topic, old_out.payload).seq == 1  # previous key still opens
    new_out = dev.seal(punch(2), seq=2, stamp=STAMP)
    assert decode_envelope(new_out.payload).header.recipient_key_id == new_server.public.box_id
    assert srv.open(new_out.topic, new_out.payload).seq == 2
    # Downlink signed by the new key verifies on the device; the old one still does.
    ack = srv.seal(DEVICE, AckBody(records=[(1, 2)]), seq=2, stamp=STAMP)
    assert dev.open(ack.topic, ack.payload).seq == 2
    # Once retired, messages sealed to the old key are refused by key id.
    srv = srv.with_keys(srv.keys.without([SRV_ID.public.box_id]))
    with pytest.raises(UnknownKey):
        srv.open(old_out.topic, old_out.payload)


def test_device_key_rotation() -> None:
    dev, srv = channels()
    new_device = Identity.generate()
    hello = HelloBody(
        protocol_version=1,
        software_version="1",
        next_record_seq=5,
        command_floor=0,
        clock_synced=True,
        new_keys=PublicKeys(sign=new_device.public.sign_raw, box=new_device.public.box_raw),
    )
    out = dev.seal(hello, seq=1, stamp=STAMP)  # signed by the current (old) key
    opened = srv.open(out.topic, out.payload)
    assert isinstance(opened.body, HelloBody) and opened.body.new_keys is not None
    directory = srv.devices
    assert isinstance(directory, StaticDirectory)
    peer = directory.peer_keys(DEVICE)
    assert peer is not None
    announced = PublicIdentity.from_raw(opened.body.new_keys.sign, opened.body.new_keys.box)
    directory.put(peer.rotated(announced))
    assert peer.rotated(announced).rotated(announced).previous == (DEV_ID.public,)  # idempotent
    old_in_flight = dev.seal(punch(1), seq=2, stamp=STAMP)
    dev = dev.with_keys(keys=dev.keys.rotated(new_device))
    new = dev.seal(punch(2), seq=3, stamp=STAMP)
    assert srv.open(new.topic, new.payload).seq == 3
    assert srv.open(old_in_flight.topic, old_in_flight.payload).seq == 2
    # Downlink sealed to the new device key opens; one sealed to the old key too.
    old_down = ServerChannel(LocalKeys(SRV_ID), StaticDirectory([PeerKeys(DEVICE, DEV_ID.public)]))
    early = old_down.seal(DEVICE, AckBody(records=[(1, 1)]), seq=1, stamp=STAMP)
    late = srv.seal(DEVICE, AckBody(records=[(2, 3)]), seq=2, stamp=STAMP)
    assert decode_envelope(late.payload).header.recipient_key_id == new_device.public.box_id
    assert dev.open(early.topic, early.payload).seq == 1
    assert dev.open(late.topic, late.payload).seq == 2
    directory.put(PeerKeys(DEVICE, new_device.public))  # previous key dropped
    with pytest.raises(UnknownKey):
        srv.open(old_in_flight.topic, old_in_flight.payload)
