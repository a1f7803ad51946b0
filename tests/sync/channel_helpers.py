"""What the channel tests share: fixed test-vector identities, a device/server channel pair, one example
body of every message type."""

from __future__ import annotations

from sync.protocol import (
    AckBody,
    AckDownlinkBody,
    Body,
    Candidate,
    CandidatesBody,
    ConfigBody,
    DeviceChannel,
    EraseBody,
    GalleryBody,
    GalleryEntry,
    HelloBody,
    Identity,
    LocalKeys,
    PeerKeys,
    PublicKeys,
    PunchRecord,
    RecordsBody,
    RotateKeyBody,
    ServerChannel,
    Stamp,
    StaticDirectory,
)
from sync.protocol.bench import typical_punch
from sync.protocol.vectors import device_identity, server_identity

DEVICE = "gate-01"
STAMP = Stamp(1_767_225_600_000, True)
DEV_ID, SRV_ID = device_identity(), server_identity()


def channels(
    device: Identity = DEV_ID, server: Identity = SRV_ID, *, compress: bool = True
) -> tuple[DeviceChannel, ServerChannel]:
    dev = DeviceChannel(DEVICE, LocalKeys(device), PeerKeys("server", server.public), compress=compress)
    srv = ServerChannel(
        LocalKeys(server),
        StaticDirectory([PeerKeys(DEVICE, device.public)]),
        compress=compress,
    )
    return dev, srv


def punch(seq: int = 1) -> PunchRecord:
    return typical_punch(seq, DEVICE)


EXAMPLES: list[Body] = [
    RecordsBody(records=[punch(1), punch(2)]),
    AckDownlinkBody(commands=[(1, 3), (7, 7)]),
    HelloBody(
        protocol_version=1,
        software_version="0.1.0",
        next_record_seq=9,
        command_floor=3,
        clock_synced=False,
        new_keys=PublicKeys(sign=b"s" * 32, box=b"b" * 32),
    ),
    AckBody(records=[(1, 2)], messages=[1]),
    GalleryBody(
        command_seq=1,
        gallery_version=3,
        page=1,
        pages=2,
        removals=["E9"],
        upserts=[
            GalleryEntry(
                employee_no="E1",
                name="张三",
                model="m1",
                templates=[bytes(range(64))],
            )
        ],
    ),
    EraseBody(command_seq=2, erasure_id="er-1", employee_nos=["E9"], reason="left"),
    ConfigBody(command_seq=3, config_version=2, settings={"punch": {"debounce_s": 60}}),
    CandidatesBody(
        command_seq=4,
        candidates=[
            Candidate(
                candidate_id="c1",
                name="Li",
                role_id="r1",
                question_bank_id="q1",
                valid_until_ms=5,
            )
        ],
    ),
    RotateKeyBody(command_seq=5, retire_key_ids=["00" * 8], rotate_device_keys=True),
]
