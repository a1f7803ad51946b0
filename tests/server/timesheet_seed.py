"""A small attendance week for the timesheet and devices pages, made the way devices and HR make it: two
terminals at two sites register, HR adds people and a day shift, and the terminals' punch records (the
device's own builders, ``tests.server.builders``) are ingested like a records message.

Monday 2026-03-02 and Tuesday 03-03, shift "day" 09:00-18:00 (Asia/Shanghai), the clock on Wednesday at
12:00 so both days are final:
- E001 李雷 at gate-1 (HQ): Monday 09:10-18:00 (late 10), Tuesday 09:00-18:00.
- E002 Han Meimei at gate-2 (Plant): Monday 09:00-17:00 (early 60), Tuesday in at 09:00, no out (missing).
- E003 Wang Fang: no punches (absent both days), assigned to gate-2.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sync.server import users
from sync.server.store import HRStore, attendance, devices, employees, records, sync_marks
from tests.server.builders import BASE_MS, KEY, punch_record

NOW = datetime(2026, 3, 4, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai
HOUR, DAY = 3_600_000, 86_400_000
PASSWORD = "correct horse battery staple"  # a test account's password, made by the test
SITES = {"gate-1": "HQ", "gate-2": "Plant"}


def seed(store: HRStore) -> None:
    for device_id, site in SITES.items():
        devices.register(store, device_id=device_id, name=f"{site} gate", site=site, sign_public_key=KEY,
                         sign_key_id="0123456789abcdef", box_public_key=KEY, box_key_id="fedcba9876543210",
                         actor="it")
    for no, name in (("E001", "李雷"), ("E002", "Han Meimei"), ("E003", "Wang Fang")):
        employees.create(store, no, name, "hr")
    shift = attendance.create_shift(store, name="day", start="09:00", end="18:00", days=[1, 2, 3, 4, 5], actor="hr")
    attendance.create_shift(store, name="night", start="21:00", end="06:00", days=[1, 2, 3, 4, 5], actor="hr")
    for no in ("E001", "E002", "E003"):
        attendance.assign_shift(store, no, shift, date(2026, 1, 1), "hr")
    devices.assign(store, "gate-2", ["E002", "E003"], "hr")
    records.ingest(store, "gate-1", [
        punch_record(1, employee_no="E001", at_ms=BASE_MS + 10 * 60_000),
        punch_record(2, employee_no="E001", direction="out", at_ms=BASE_MS + 9 * HOUR),
        punch_record(3, employee_no="E001", at_ms=BASE_MS + DAY),
        punch_record(4, employee_no="E001", direction="out", at_ms=BASE_MS + DAY + 9 * HOUR, synced=False),
    ])
    records.ingest(store, "gate-2", [
        punch_record(1, employee_no="E002", at_ms=BASE_MS, device_id="gate-2"),
        punch_record(2, employee_no="E002", direction="out", at_ms=BASE_MS + 8 * HOUR, device_id="gate-2"),
        punch_record(3, employee_no="E002", at_ms=BASE_MS + DAY, device_id="gate-2"),
    ])
    # Each terminal's hello at the seeded "now" proves it has sent everything it made: the days are final.
    now_ms = int(NOW.timestamp() * 1000)
    for device_id, next_seq in (("gate-1", 5), ("gate-2", 4)):
        assert sync_marks.on_hello(store, device_id, next_seq, now_ms)


def add_user(store: HRStore, username: str, role: str) -> None:
    users.create_user(store, username, role, PASSWORD, actor="test")
