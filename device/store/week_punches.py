"""An employee's punches on this device within a time span, for the kiosk card's hours this week: the
punch table's own rows (direction and device time), without the ones voided by a correction made at this
terminal's panel (those corrections are outbox rows: ``punch_log.voided_uids``)."""

from __future__ import annotations

from device.store.database import Store
from device.store.punch_log import voided_uids


def punches_between(store: Store, employee_no: str, start_ms: int, end_ms: int) -> list[tuple[str, int]]:
    """(direction, device_time_ms) of the person's punches in [start_ms, end_ms], in time order."""
    rows = store.conn.execute(
        "SELECT uid, direction, device_time_ms FROM punches WHERE employee_no = ? AND device_time_ms >= ?"
        " AND device_time_ms <= ? ORDER BY device_time_ms, id",
        (employee_no, start_ms, end_ms),
    ).fetchall()
    if not rows:
        return []
    voided = voided_uids(store)
    return [(str(direction), int(at_ms)) for uid, direction, at_ms in rows if uid not in voided]
