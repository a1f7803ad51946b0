"""Records as devices send them, built from the device's own punch code (device.store.punches)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from device.courier.records import punch_record as device_punch_record
from device.store.punches import NewPunch
from device.store.punches import punch_body as device_punch_body
from sync.protocol import PunchRecord, body_dict
from sync.server import users
from sync.server.auth import create_token
from sync.server.store import HRStore, devices

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE_MS = 1_772_413_200_000  # 2026-03-02 09:00 +08:00 (01:00 UTC), a Monday
#: A well-formed public key (base64 of 32 bytes, a usable X25519 point) for devices registered by tests.
KEY = base64.b64encode(bytes(range(32))).decode()


def register(store: HRStore, *device_ids: str) -> None:
    """Register active devices (name = id, site HQ) with placeholder keys."""
    for device_id in device_ids:
        devices.register(store, device_id=device_id, name=device_id, site="HQ", sign_public_key=KEY,
                         sign_key_id="0123456789abcdef", box_public_key=KEY, box_key_id="fedcba9876543210",
                         actor="it")


def bearer(store: HRStore, role: str) -> dict[str, str]:
    """The Authorization header of a fresh API token for ``role``."""
    return {"Authorization": f"Bearer {create_token(store, role)}"}


#: A password that passes the HR accounts' rules (tests only).
USER_PASSWORD = "correct horse battery"


def employee_session(store: HRStore, employee_no: str, username: str = "") -> tuple[str, str]:
    """(session cookie, CSRF token) of a new self-service account linked to ``employee_no``."""
    user_id = users.create_user(store, username or f"emp.{employee_no.lower()}", "employee", USER_PASSWORD,
                                actor="test", employee_no=employee_no)
    cookie = users.start_session(store, user_id, "testclient")
    found = users.session(store, cookie)
    assert found is not None
    return cookie, found.csrf


def punch(
    seq: int, employee_no: str = "E001", direction: str = "in", at_ms: int | None = None, synced: bool = True,
    device_id: str = "gate-1",
) -> NewPunch:
    """The punch a kiosk at ``device_id`` decides (its uid names the device and ``seq``)."""
    at_ms = BASE_MS + seq * 60_000 if at_ms is None else at_ms
    moment = datetime.fromtimestamp(at_ms / 1000, SHANGHAI)
    return NewPunch(
        employee_no=employee_no,
        direction="in" if direction == "in" else "out",
        work_day=moment.date().isoformat(),
        device_time=moment.isoformat(),
        device_time_ms=at_ms,
        monotonic_ns=seq * 1_000_000,
        clock_synced=synced,
        source="face",
        match_score=0.91,
        liveness_score=0.98,
        models={"embedder": "test"},
        uid=f"{device_id}-punch-{seq}",
    )


def punch_body(seq: int, **kwargs: Any) -> dict[str, Any]:
    """The body ``record_punch`` puts in the outbox, as JSON values (what travels)."""
    return body_dict(device_punch_body(punch(seq, **kwargs), kwargs.get("device_id", "gate-1")))


def punch_record(seq: int, **kwargs: Any) -> PunchRecord:
    """The record the courier sends for that punch under outbox sequence ``seq``."""
    return device_punch_record(seq, punch(seq, **kwargs), kwargs.get("device_id", "gate-1"))
