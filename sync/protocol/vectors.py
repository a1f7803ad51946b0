"""Test vectors: fixed keys and inputs -> exact envelope bytes (vectors.json).

Regenerate after an intentional protocol change with
``python -m sync.protocol.vectors --write``; tests/sync/test_protocol_vectors.py
recomputes every vector from the file's inputs and compares byte for byte, so
another implementation can check itself against the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .bodies import (
    AckBody,
    Body,
    CandidateTemplate,
    CandidateTemplatesBody,
    EraseBody,
    RecordsBody,
    ResequenceBody,
    RetentionPolicyBody,
    encode_body,
)
from .channel import SERVER_PEER_ID
from .cipher import SIGNATURE_CONTEXT, derive_aead_key, seal_envelope
from .envelope import Header, decode_envelope
from .keys import Identity, LocalKeys, PeerKeys
from .messages import Compression, Direction, MessageType
from .payload import DICTIONARY_V1, compress
from .records import (
    CandidateDemographicsBody,
    CandidateDemographicsRecord,
    PunchBody,
    PunchCorrectionBody,
    PunchCorrectionRecord,
    PunchRecord,
)
from .topics import message_topic

VECTORS_PATH = Path(__file__).with_name("vectors.json")
DEVICE_ID = "gate-01"
CREATED_MS = 1767225600000  # 2026-01-01T00:00:00Z


def seed(label: str) -> bytes:
    """A fixed 32-byte private key: SHA-256 of an ASCII label (named in the file)."""
    return hashlib.sha256(label.encode("ascii")).digest()


def device_identity() -> Identity:
    """The test device's keys."""
    return Identity.from_private_bytes(seed("edgehr test device sign"), seed("edgehr test device box"))


def server_identity() -> Identity:
    """The test server's keys."""
    return Identity.from_private_bytes(seed("edgehr test server sign"), seed("edgehr test server box"))


def _punch(seq: int, employee: str, direction: str, at_ms: int, uid: str) -> PunchRecord:
    body = PunchBody.model_validate(
        {
            "uid": uid,
            "device_id": DEVICE_ID,
            "employee_no": employee,
            "direction": direction,
            "work_day": "2026-01-01",
            "device_time": f"2026-01-01T07:59:{(at_ms // 1000) % 60:02d}.000+08:00",
            "device_time_ms": at_ms,
            "monotonic_ns": 3_600_000_000_000 + seq,
            "clock_synced": True,
            "source": "face",
            "match_score": 0.8125,
            "liveness_score": 0.96875,
            "models": {"detector": "yunet-int8", "embedder": "sface-int8"},
        }
    )
    return PunchRecord(seq=seq, type="punch", ref=uid, created_at_ms=at_ms, clock_synced=True, body=body)


def _cases() -> list[tuple[str, Body, int, Compression, str]]:
    """(name, body, envelope seq, compression, ephemeral label)."""
    correction = PunchCorrectionRecord(
        seq=43,
        type="punch-correction",
        ref="corr-0001",
        created_at_ms=CREATED_MS - 5000,
        clock_synced=False,
        body=PunchCorrectionBody(
            action="add",
            employee_no="E000077",
            direction="out",
            at_ms=CREATED_MS - 3_600_000,
            clock_synced=False,
            reason="忘记打卡 / forgot to punch out",
            admin="admin",
        ),
    )
    uids = ("6f1c2a9e-0d4b-4c47-9a43-5b2e8f7d1c01", "6f1c2a9e-0d4b-4c47-9a43-5b2e8f7d1c02")
    batch = RecordsBody(
        records=[
            _punch(41, "E000042", "in", CREATED_MS - 60_000, uids[0]),
            _punch(42, "E000043", "in", CREATED_MS - 30_000, uids[1]),
            correction,
        ]
    )
    single = RecordsBody(
        records=[_punch(1, "E000042", "in", CREATED_MS - 1000, "6f1c2a9e-0d4b-4c47-9a43-5b2e8f7d1c00")]
    )
    return [
        ("up-records-one-punch-plain", single, 1, Compression.NONE, "edgehr test ephemeral 1"),
        ("up-records-batch-compressed", batch, 2, Compression.ZLIB_DICT_V1, "edgehr test ephemeral 2"),
        (
            "down-ack",
            AckBody(records=[(1, 1), (41, 43)], messages=[1, 2]),
            1,
            Compression.NONE,
            "edgehr test ephemeral 3",
        ),
        (
            "down-erase",
            EraseBody(
                command_seq=1,
                erasure_id="er-2026-0001",
                employee_nos=["E000077"],
                reason="employee left (PIPL art. 47)",
            ),
            2,
            Compression.NONE,
            "edgehr test ephemeral 4",
        ),
        (
            "down-resequence",
            ResequenceBody(command_seq=2, next_record_seq=1044, records=[(41, 43)]),
            3,
            Compression.NONE,
            "edgehr test ephemeral 5",
        ),
        (
            "down-retention-policy",
            RetentionPolicyBody(command_seq=3, audio_days=30, transcript_days=180),
            4,
            Compression.NONE,
            "edgehr test ephemeral 6",
        ),
        ("up-records-self-report", _self_report(), 3, Compression.NONE, "edgehr test ephemeral 7"),
        (
            "down-candidate-templates",
            CandidateTemplatesBody(
                command_seq=4,
                # 16 float32 values 0.0, 0.25, ...: a short stand-in for a template (the wire allows 16..8192 bytes)
                upserts=[CandidateTemplate(candidate_id="C-100", model="sface:2021dec",
                                           templates=[struct.pack("<16f", *(i / 4 for i in range(16)))])],
                removals=["C-099"],
            ),
            5,
            Compression.NONE,
            "edgehr test ephemeral 8",
        ),
    ]


def _self_report() -> RecordsBody:
    body = CandidateDemographicsBody(
        candidate_id="C-100", session_id="s-0001", reported_ms=CREATED_MS - 5000,
        answers={"age_band": "prefer-not-to-say", "sex": "female"},
    )  # fmt: skip
    record = CandidateDemographicsRecord(
        seq=44, ref="s-0001", created_at_ms=CREATED_MS - 5000, clock_synced=True, type="candidate-demographics",
        body=body,
    )  # fmt: skip
    return RecordsBody(records=[record])


def build_vector(name: str, body: Body, seq: int, compression: Compression, eph_label: str) -> dict[str, Any]:
    """One vector with every intermediate value, so a failing implementation sees
    where it departs."""
    device, server = device_identity(), server_identity()
    direction = body.message_type.direction
    sender, recipient = (device, server) if direction is Direction.UP else (server, device)
    plaintext = encode_body(body)
    packed = compress(plaintext) if compression is Compression.ZLIB_DICT_V1 else plaintext
    eph = X25519PrivateKey.from_private_bytes(seed(eph_label))
    eph_public = eph.public_key().public_bytes_raw()
    header = Header(
        direction=direction,
        message_type=body.message_type,
        device_id=DEVICE_ID,
        seq=seq,
        created_ms=CREATED_MS,
        clock_synced=True,
        compression=compression,
        sender_key_id=sender.public.sign_id,
        recipient_key_id=recipient.public.box_id,
        ephemeral_public=eph_public,
    )
    envelope = seal_envelope(header, packed, sender.sign, recipient.public.box, ephemeral=eph)
    parsed = decode_envelope(envelope)
    shared = eph.exchange(recipient.public.box)
    key, nonce = derive_aead_key(shared, eph_public, recipient.public.box_raw, parsed.header_bytes)
    return {
        "name": name,
        "topic": message_topic(DEVICE_ID, body.message_type),
        "direction": direction.value,
        "message_type": body.message_type.value,
        "type_code": body.message_type.code,
        "seq": seq,
        "created_ms": CREATED_MS,
        "clock_synced": True,
        "compression": int(compression),
        "body": json.loads(plaintext),
        "plaintext_hex": plaintext.hex(),
        "packed_hex": packed.hex(),
        "ephemeral_seed_label": eph_label,
        "ephemeral_private_hex": eph.private_bytes_raw().hex(),
        "ephemeral_public_hex": eph_public.hex(),
        "shared_secret_hex": shared.hex(),
        "aead_key_hex": key.hex(),
        "aead_nonce_hex": nonce.hex(),
        "header_hex": parsed.header_bytes.hex(),
        "ciphertext_hex": parsed.ciphertext.hex(),
        "signature_hex": parsed.signature.hex(),
        "envelope_hex": envelope.hex(),
        "envelope_len": len(envelope),
    }


def _party(name: str, identity: Identity, labels: tuple[str, str]) -> dict[str, str]:
    sign, box = identity.private_bytes()
    return {
        "name": name,
        "sign_seed_label": labels[0],
        "box_seed_label": labels[1],
        "sign_private_hex": sign.hex(),
        "box_private_hex": box.hex(),
        "sign_public_hex": identity.public.sign_raw.hex(),
        "box_public_hex": identity.public.box_raw.hex(),
        "sign_key_id_hex": identity.public.sign_id.hex(),
        "box_key_id_hex": identity.public.box_id.hex(),
    }


def _rejections(vectors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Envelopes a receiver must reject, with the reason code it must count."""
    up = bytes.fromhex(vectors[0]["envelope_hex"])
    topic = vectors[0]["topic"]
    flipped_ct = bytearray(up)
    flipped_ct[len(up) - 64 - 1] ^= 0x01
    bad_version = b"\x02" + up[1:]
    unknown_key = bytearray(up)
    unknown_key[4 + len(DEVICE_ID) + 16] ^= 0xFF  # first byte of the sender key id
    device, server = device_identity(), server_identity()
    header = decode_envelope(up).header
    eph = X25519PrivateKey.from_private_bytes(seed("edgehr test ephemeral 9"))
    # Correctly signed by the device, but encrypted to the device's own box key while
    # naming the server's: the server must answer decrypt-failed, not bad-signature.
    wrong_recipient = seal_envelope(header, b"{}", device.sign, device.public.box, ephemeral=eph)
    bad_body = seal_envelope(header, b'{"records":[]}', device.sign, server.public.box, ephemeral=eph)
    unknown_type = bytearray(seal_envelope(replace(header), b"{}", device.sign, server.public.box, ephemeral=eph))
    unknown_type[2] = 0x7F  # a code v1 does not define (signature no longer matters)
    cases = [
        ("ciphertext-bit-flipped", topic, bytes(flipped_ct), "bad-signature"),
        ("version-2", topic, bad_version, "bad-version"),
        ("truncated", topic, up[:100], "malformed"),
        ("unknown-sender-key-id", topic, bytes(unknown_key), "unknown-key"),
        (
            "moved-to-other-device-topic",
            message_topic("gate-02", MessageType.RECORDS),
            up,
            "wrong-topic",
        ),
        (
            "moved-to-hello-topic",
            message_topic(DEVICE_ID, MessageType.HELLO),
            up,
            "wrong-topic",
        ),
        ("signed-but-encrypted-to-wrong-key", topic, wrong_recipient, "decrypt-failed"),
        ("records-body-empty", topic, bad_body, "bad-payload"),
        ("type-code-0x7f", topic, bytes(unknown_type), "unknown-type"),
    ]
    return [
        {
            "name": n,
            "receiver": "server",
            "topic": t,
            "envelope_hex": e.hex(),
            "reason": r,
        }
        for n, t, e, r in cases
    ]


def build_vectors() -> dict[str, Any]:
    """The whole vectors document."""
    vectors = [build_vector(*case) for case in _cases()]
    return {
        "protocol": "edgehr/v1",
        "about": "Regenerate with `python -m sync.protocol.vectors --write`; see "
        "sync/PROTOCOL.md, 'Test vectors'. Private keys are SHA-256 of the labels.",
        "signature_context_hex": SIGNATURE_CONTEXT.hex(),
        "dictionary_v1_sha256": hashlib.sha256(DICTIONARY_V1).hexdigest(),
        "device_id": DEVICE_ID,
        "server_peer_id": SERVER_PEER_ID,
        "device": _party(
            "device",
            device_identity(),
            ("edgehr test device sign", "edgehr test device box"),
        ),
        "server": _party(
            "server",
            server_identity(),
            ("edgehr test server sign", "edgehr test server box"),
        ),
        "vectors": vectors,
        "rejections": _rejections(vectors),
    }


def keyrings() -> tuple[LocalKeys, PeerKeys, LocalKeys, PeerKeys]:
    """(device keys, server as the device sees it, server keys, device as seen)."""
    device, server = device_identity(), server_identity()
    return (
        LocalKeys(device),
        PeerKeys(SERVER_PEER_ID, server.public),
        LocalKeys(server),
        PeerKeys(DEVICE_ID, device.public),
    )


def main(argv: list[str] | None = None) -> int:
    """Print the vectors, or write them next to this module with --write."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {VECTORS_PATH}")
    args = parser.parse_args(argv)
    text = json.dumps(build_vectors(), indent=2, ensure_ascii=False) + "\n"
    if args.write:
        VECTORS_PATH.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
