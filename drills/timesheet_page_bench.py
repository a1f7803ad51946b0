"""``edgehr bench timesheet-page``: how long HR's timesheet page takes for thousands of people.

A SQLite HR store is filled the way a site fills it: one terminal's punch records (the device's own
builders, ``device.courier.records``) ingested in protocol-sized batches, for ``people`` employees on a
Monday-Friday 09:00-18:00 shift over ``days`` days (in 08:5x, out 18:0x; every 7th person late, every
11th missing a day). The app is served by uvicorn on 127.0.0.1 (as ``server run`` serves it); an HR user
signs in. Cold: the totals page (page 1 of 50 people) and one person's days with the app's report cache
emptied (the first view after any change: the whole range computed, or that one person). Warm: each page
fetched ``repeat`` times over HTTP once the report is computed (the totals page, page 20, a search, the
CSV, a person's days), as HR pages and filters.

Reported per page: median wall seconds and median CPU seconds of this process (the server runs in a
thread here, so process CPU time is the server's work plus the small HTTP client); CPU time says what a
page costs whatever else the machine runs. One thread; SQLite on a temporary folder.
"""

from __future__ import annotations

import json
import secrets
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.serve import BackgroundServer
from device.courier.records import punch_record
from device.store.punches import NewPunch
from sync.server import users
from sync.server.api import create_app
from sync.server.config import BrokerSection, ServerConfig
from sync.server.store import attendance, devices, employees, open_hr_store, records
from sync.server.store.hr_store import HRStore
from sync.server.store.report_cache import ReportCache

TZ = ZoneInfo("Asia/Shanghai")
DEVICE = "bench-gate"
FIRST = date(2026, 3, 2)  # a Monday
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # a well-formed public key (bytes 0..31)
BATCH = 500


def _punch(seq: int, employee_no: str, direction: str, at: datetime) -> NewPunch:
    return NewPunch(employee_no=employee_no, direction="in" if direction == "in" else "out",
                    work_day=at.date().isoformat(), device_time=at.isoformat(),
                    device_time_ms=int(at.timestamp() * 1000), monotonic_ns=seq, clock_synced=True,
                    source="face", match_score=0.9, liveness_score=0.98, models={"embedder": "bench"},
                    uid=f"{DEVICE}-{seq}")


def fill(store: HRStore, people: int, days: int) -> int:
    """The employees, the shift and the punches; returns how many punches were ingested."""
    devices.register(store, device_id=DEVICE, name="bench", site="HQ", sign_public_key=KEY,
                     sign_key_id="0123456789abcdef", box_public_key=KEY, box_key_id="fedcba9876543210", actor="bench")
    shift = attendance.create_shift(store, name="day", start="09:00", end="18:00", days=[1, 2, 3, 4, 5], actor="bench")
    for n in range(people):
        employees.create(store, f"B{n:05d}", f"Person {n:05d}", "bench")
        attendance.assign_shift(store, f"B{n:05d}", shift, FIRST, "bench")
    batch, seq = [], 0
    for d in range(days):
        day = FIRST + timedelta(days=d)
        if day.isoweekday() > 5:
            continue
        for n in range(people):
            if (n + d) % 11 == 0:
                continue  # absent
            late = 12 if n % 7 == 0 else 0
            start = datetime(day.year, day.month, day.day, 8, 50 + n % 9, tzinfo=TZ) + timedelta(minutes=late)
            for direction, at in (("in", start), ("out", start + timedelta(hours=9, minutes=5))):
                seq += 1
                batch.append(punch_record(seq, _punch(seq, f"B{n:05d}", direction, at), DEVICE))
                if len(batch) == BATCH:
                    records.ingest(store, DEVICE, batch)
                    batch = []
    if batch:
        records.ingest(store, DEVICE, batch)
    return seq


def _timed(opener: urllib.request.OpenerDirector, url: str, repeat: int) -> dict[str, float]:
    wall, cpu, size = [], [], 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        with opener.open(url, timeout=600) as reply:
            size = len(reply.read())
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": round(statistics.median(wall), 3), "cpu_s": round(statistics.median(cpu), 3), "bytes": size}


def _cold(opener: urllib.request.OpenerDirector, url: str, app: Any) -> dict[str, float]:
    """One fetch with the app's report cache emptied first: what the first view after a change costs."""
    app.state.timesheet_reports = ReportCache()
    return _timed(opener, url, 1)


def run_bench(people: int, days: int, repeat: int, folder: Path) -> dict[str, Any]:
    last = FIRST + timedelta(days=days - 1)
    now = datetime.combine(last + timedelta(days=1), datetime.min.time(), TZ).astimezone(UTC)
    store = open_hr_store(f"sqlite:///{folder / 'hr.db'}", str(TZ), clock=lambda: now)
    t0 = time.perf_counter()
    punches = fill(store, people, days)
    fill_s = time.perf_counter() - t0
    password = secrets.token_urlsafe(16)
    users.create_user(store, "bench.hr", "hr", password, actor="bench")
    app = create_app(ServerConfig(broker=BrokerSection(tls=False)), store)
    server = BackgroundServer(app, "127.0.0.1", _free_port())
    server.start()
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        login = urllib.parse.urlencode({"username": "bench.hr", "password": password}).encode()
        opener.open(urllib.request.Request(server.url + "/login", data=login), timeout=60).read()  # noqa: S310 - http://127.0.0.1
        span = f"from={FIRST.isoformat()}&to={last.isoformat()}"
        pages = {
            "totals_page_1": f"/timesheets?{span}&per=50",
            "totals_page_20": f"/timesheets?{span}&per=50&page=20",
            "search": f"/timesheets?{span}&q=Person%2000042",
            "csv": f"/timesheets.csv?{span}",
            "person": f"/timesheets/people/B00042?{span}",
        }
        timed = {"cold_totals_page_1": _cold(opener, server.url + pages["totals_page_1"], app),
                 "cold_person": _cold(opener, server.url + pages["person"], app)}
        _timed(opener, server.url + pages["totals_page_1"], 1)  # computes the report the warm views reuse
        timed |= {name: _timed(opener, server.url + path, repeat) for name, path in pages.items()}
    finally:
        server.stop()
        store.close()
    return {"people": people, "days": days, "punches": punches, "fill_s": round(fill_s, 1), "repeat": repeat} | {
        f"{name}.{k}": v for name, figures in timed.items() for k, v in figures.items()
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def handle(args: Any) -> int:
    """Handler of ``edgehr bench timesheet-page``."""
    folder = Path(tempfile.mkdtemp(prefix="edgehr-bench-timesheets-"))
    result = run_bench(args.people, args.days, args.repeat, folder)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0
