"""Small builders of domain objects shared by tests."""

from __future__ import annotations

from datetime import UTC, datetime

from device.store.punches import NewPunch


def punch(employee_no: str = "E001", direction: str = "in", at_ms: int = 1_790_000_000_000) -> NewPunch:
    moment = datetime.fromtimestamp(at_ms / 1000, UTC)
    return NewPunch(
        employee_no=employee_no,
        direction="in" if direction == "in" else "out",
        work_day=moment.date().isoformat(),
        device_time=moment.isoformat(),
        device_time_ms=at_ms,
        monotonic_ns=at_ms * 1_000_000,
        clock_synced=True,
        source="face",
        match_score=0.9,
        liveness_score=0.99,
        models={"embedder": "test"},
    )
