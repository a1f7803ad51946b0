"""A timesheet day is final from the device's proof of sync, not from the server's clock: a terminal holding
an unsent punch (its broker down) keeps the day open, and the day becomes final once the punch arrives.

Real mosquitto (TLS + ACL), a real courier thread and ingest worker, real stores. The device's clock is a
FakeClock set days in the past (the server's is the real one), so the story of a working day can be played
in seconds: the device syncs at 17:00, punches out at 18:05 while its broker is down, and is back at 08:00
the next morning.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.clock import FakeClock, to_ms
from device.courier.courier import Courier, CourierOptions, build
from device.store import open_store, outbox
from device.store.punches import record_punch
from drills.chaos_site import Site, running_worker, wait_for
from fleet.broker import Mosquitto
from sync.server.store import HRStore, attendance, employees, sync_marks, timesheet_reader
from sync.server.store.shift_rules import ShiftRules
from sync.server.timesheets import DayRow
from tests.factories import punch

DEVICE = "site1-gate-a"
TZ = ZoneInfo("Asia/Shanghai")


@contextmanager
def courier_with_clock(site: Site, clock: FakeClock) -> Iterator[Courier]:
    device = site.devices[DEVICE]
    store = open_store(device.database, check_same_thread=False)
    stop = threading.Event()
    config = device.config()
    options = CourierOptions.of(config, hello_interval_seconds=0.3, ack_timeout_seconds=1.0)
    courier = build(config, store, stop=stop, config_path=device.config_path, clock=clock, options=options)
    thread = courier.start_thread()
    try:
        yield courier
    finally:
        stop.set()
        thread.join(15)
        store.close()


def _day(hr: HRStore, day: date) -> DayRow:
    (row,) = timesheet_reader.load(hr, day, day, "E001").rows
    return row


def _watermark(hr: HRStore) -> int:
    (mark,) = [m for m in sync_marks.marks(hr) if m.device_id == DEVICE]
    return mark.synced_through_ms or 0


def test_a_day_stays_open_while_a_device_holds_an_unsent_punch(site: Site, site_broker: Mosquitto, hr: HRStore) -> None:
    day = datetime.now(TZ).date() - timedelta(days=3)

    def at(hour: int, minute: int, days: int = 0) -> datetime:
        return datetime.combine(day + timedelta(days=days), datetime.min.time(), TZ).replace(hour=hour, minute=minute)

    employees.create(hr, "E001", "Wang Fang", actor="test")
    shift = attendance.create_shift(hr, name="day", start="09:00", end="18:00", days=[1, 2, 3, 4, 5, 6, 7],
                                    actor="test", rules=ShiftRules(checkout_after_end_min=60))
    attendance.assign_shift(hr, "E001", shift, day - timedelta(days=10), actor="test")
    device_store = open_store(site.devices[DEVICE].database)
    clock = FakeClock(at(8, 50))
    with running_worker(site), courier_with_clock(site, clock) as courier:
        record_punch(device_store, punch("E001", "in", to_ms(at(8, 58))), DEVICE)
        wait_for(lambda: outbox.backlog(device_store) == 0, "the check-in delivered")
        clock.current = at(17, 0)
        wait_for(lambda: _watermark(hr) >= to_ms(at(17, 0)), "a hello proving the device synced through 17:00")
        row = _day(hr, day)  # past its 19:00 window by the server's clock, not by the device's proof
        assert (row.status, row.finalised, row.held_by) == ("open", False, (DEVICE,))
        assert "sync-pending" in row.flags

        site_broker.kill()
        record_punch(device_store, punch("E001", "out", to_ms(at(18, 5))), DEVICE)
        clock.current = at(8, 0, days=1)  # the next morning: the device is past the window, its punch unsent
        wait_for(lambda: not courier.link.connected, "the courier offline")
        time.sleep(1.0)  # hellos fall due meanwhile; none can reach the server
        row = _day(hr, day)
        assert (row.status, row.finalised, row.held_by, row.last_out) == ("open", False, (DEVICE,), None)

        site_broker.start()
        wait_for(lambda: outbox.backlog(device_store) == 0, "the check-out delivered")
        wait_for(lambda: _day(hr, day).finalised, "the day final once the device proved it synced past 19:00")
    row = _day(hr, day)
    assert (row.status, row.held_by, row.worked_minutes) == ("present", (), 9 * 60 + 7)
    assert row.last_out == at(18, 5)
    assert "sync-pending" not in row.flags
    device_store.close()
