"""The retained status message: plain JSON, published by the device and by its will.

It is not sealed: it carries no personal data, the broker itself publishes the will
(and cannot sign), and only the device's certificate may write its status topic
(broker ACL). Treat it as a liveness hint, never as an authenticated statement.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationError

from .errors import BadPayload, Malformed
from .payload import canonical_json, parse_json_object
from .records import UnixMs, WireModel

MAX_STATUS_LEN = 512
_FIX = "Ignore it; check the device's software version."


class DeviceStatus(WireModel):
    """``online`` when the device connects (retained); ``offline`` is its will."""

    state: Literal["online", "offline"]
    since_ms: UnixMs | None = None
    software_version: Annotated[str, StringConstraints(max_length=64)] | None = None
    protocol_version: Annotated[int, Field(ge=1, le=255)] = 1


def encode_status(status: DeviceStatus) -> bytes:
    """Payload for the status topic (publish retained, QoS 1; also the will payload)."""
    return canonical_json(status.model_dump(mode="json", exclude_none=True))


def parse_status(payload: bytes) -> DeviceStatus:
    """Parse a status payload; raise Malformed (an empty retained payload clears it)."""
    if len(payload) > MAX_STATUS_LEN:
        raise Malformed(f"A status payload of {len(payload)} bytes exceeds {MAX_STATUS_LEN}.", _FIX)
    try:
        return DeviceStatus.model_validate(parse_json_object(payload))
    except ValidationError as exc:
        raise Malformed(f"The status payload is invalid: {exc.errors()[0]['msg']}.", _FIX) from None
    except BadPayload as exc:
        raise Malformed(f"The status payload is not a JSON object: {exc.what}", _FIX) from None
