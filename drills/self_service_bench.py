"""``edgehr bench self-service``: what one employee's /me costs the HR server, against the whole site's
timesheet for the same month (what HR's page computes).

Method: a fresh SQLite HR store in a temporary folder; ``--employees`` people, each with an in (09:00) and
an out (18:00, Asia/Shanghai) on each of ``--days`` days, stored through the ingest path
(``records.ingest``, as devices' records arrive). Each figure is the mean CPU time of this process
(``time.process_time``, not wall time: the machine is shared) over ``--repeat`` calls, one thread.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from device.courier.records import punch_record
from device.store.punches import NewPunch
from sync.server import auth, self_service
from sync.server.store import HRStore, devices, employees, open_hr_store, records, timesheet_reader

ZONE = ZoneInfo("Asia/Shanghai")
FIRST = date(2026, 3, 2)
KEY = "A" * 43 + "="


@dataclass(frozen=True)
class Figure:
    measure: str
    cpu_ms: float
    detail: str


def _seed(store: HRStore, people: int, days: int) -> int:
    devices.register(store, device_id="gate-1", name="gate-1", site="HQ", sign_public_key=KEY,
                     sign_key_id="0123456789abcdef", box_public_key=KEY, box_key_id="0123456789abcdef", actor="bench")
    for i in range(people):
        employees.create(store, f"E{i:05d}", f"Person {i}", "bench")
    seq = 0
    for day in range(days):
        batch = []
        for i in range(people):
            for hour, direction in ((9, "in"), (18, "out")):
                seq += 1
                moment = datetime.combine(FIRST + timedelta(days=day), datetime.min.time(), ZONE).replace(hour=hour)
                punch = NewPunch(employee_no=f"E{i:05d}", direction=direction,  # type: ignore[arg-type]
                                 work_day=moment.date().isoformat(), device_time=moment.isoformat(),
                                 device_time_ms=int(moment.timestamp() * 1000), monotonic_ns=seq, clock_synced=True,
                                 source="face", uid=f"gate-1-{seq}")
                batch.append(punch_record(seq, punch, "gate-1"))
        records.ingest(store, "gate-1", batch)
    return seq


def _cpu_ms(call: Callable[[], object], repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - start) / repeat * 1000


def run(people: int, days: int, repeat: int) -> list[Figure]:
    last = FIRST + timedelta(days=days - 1)
    with tempfile.TemporaryDirectory(prefix="edgehr-bench-") as folder:
        store = open_hr_store(f"sqlite:///{Path(folder) / 'hr.db'}", "Asia/Shanghai",
                              clock=lambda: datetime.combine(last + timedelta(days=2), datetime.min.time(), UTC))
        try:
            punches = _seed(store, people, days)
            me = auth.Principal(1, "employee", "bench", kind="user", employee_no="E00007")
            size = f"{people} employees, {punches} punches, {days} days"
            return [
                Figure("self-service hours (one employee)", _cpu_ms(
                    lambda: self_service.hours(store, me, FIRST, last), repeat), size),
                Figure("self-service punches (one employee)", _cpu_ms(
                    lambda: self_service.punches(store, me, FIRST, last), repeat), size),
                Figure("whole-site timesheet (HR's page)", _cpu_ms(
                    lambda: timesheet_reader.load(store, FIRST, last), max(1, repeat // 5)), size),
            ]
        finally:
            store.close()


def bench_self_service(args: argparse.Namespace) -> int:
    figures = run(args.employees, args.days, args.repeat)
    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
        return 0
    width = max(len(f.measure) for f in figures)
    print(f"{'measure':<{width}}  {'CPU ms/call':>11}  detail")
    for f in figures:
        print(f"{f.measure:<{width}}  {f.cpu_ms:>11.1f}  {f.detail}")
    print("CPU time of this process (time.process_time), one thread, SQLite in a temporary folder")
    return 0
