"""The finalised-day rule as a pure function of the devices' synced-through watermarks (``finality``),
and through ``timesheets.compute``: which devices hold a day open, and when it becomes final."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.server import finality, timesheets
from sync.server.finality import SETTLE, Device, Holders, holders
from sync.server.shift_model import Manual, Plan, Shift

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 2)  # a Monday
SHIFT = Shift("day", time(9), time(18), days=frozenset(range(1, 8)), checkin_before_start_min=60,
              checkout_after_end_min=60)
WINDOW_END = datetime.combine(DAY, time(19), TZ)
LATER = WINDOW_END + timedelta(days=2)  # the server's clock, well past the window


def dev(device_id: str, site: str = "HQ", active: bool = True, through: datetime | None = None) -> Device:
    return Device(device_id, site, active, through)


def test_holders_are_the_active_devices_of_the_sites_that_know_the_employee() -> None:
    devices = [dev("a1", "A"), dev("a2", "A"), dev("a3", "A", active=False), dev("b1", "B"), dev("c1", "C")]
    assert [d.device_id for d in holders(devices, {"a1"}).devices] == ["a1", "a2"]
    assert [d.device_id for d in holders(devices, {"a3", "b1"}).devices] == ["a1", "a2", "b1"]  # a3 revoked
    # Known by no device (or only by devices unknown to the server): every active device could hold them.
    assert [d.device_id for d in holders(devices, set()).devices] == ["a1", "a2", "b1", "c1"]
    assert [d.device_id for d in holders(devices, {"gone"}).devices] == ["a1", "a2", "b1", "c1"]


@pytest.mark.parametrize(
    ("through", "held"),
    [
        (None, ("g",)),  # never synced
        (WINDOW_END, ("g",)),
        (WINDOW_END + SETTLE - timedelta(milliseconds=1), ("g",)),
        (WINDOW_END + SETTLE, ()),  # inclusive: synced through the window end plus the settle margin
        (WINDOW_END + timedelta(days=1), ()),
    ],
)
def test_a_device_holds_a_window_until_synced_past_its_end_plus_the_margin(
    through: datetime | None, held: tuple[str, ...]
) -> None:
    assert Holders((dev("g", through=through),)).holding(WINDOW_END) == held


def test_final_needs_the_servers_clock_past_the_window_and_no_holder() -> None:
    assert finality.final(WINDOW_END, WINDOW_END + timedelta(seconds=1), (), manual=False)
    assert not finality.final(WINDOW_END, WINDOW_END, (), manual=False)  # strictly after the window
    assert not finality.final(WINDOW_END, LATER, ("g",), manual=False)
    assert finality.final(WINDOW_END, WINDOW_END - timedelta(days=1), ("g",), manual=True)  # HR decided


def _rows(hold: Holders | None, now: datetime = LATER, plan: Plan | None = None) -> list[timesheets.DayRow]:
    punches = [timesheets.TimedPunch("p1", "in", datetime.combine(DAY, time(8, 55), TZ), device_id="g1"),
               timesheets.TimedPunch("p2", "out", datetime.combine(DAY, time(18, 2), TZ), device_id="g1")]
    plan = plan or Plan(defaults=((DAY - timedelta(days=30), SHIFT),))
    return timesheets.compute("E1", DAY, DAY + 1 * timedelta(days=1), punches, [], plan, TZ, now, hold).rows


def test_a_day_is_open_while_a_device_is_not_synced_past_it_and_says_which() -> None:
    behind = Holders((dev("g1", through=WINDOW_END + timedelta(days=3)), dev("g2", through=WINDOW_END)))
    first, second = _rows(behind)
    assert (first.status, first.finalised, first.held_by) == ("open", False, ("g2",))
    assert "sync-pending" in first.flags and first.worked_minutes == 547
    assert timesheets.row_json(first, TZ)["held_by"] == ["g2"]
    # The next day (no punches) is held too: g2 may hold punches of it; it is not "absent" yet.
    assert (second.status, second.finalised, second.held_by) == ("open", False, ("g2",))


def test_a_day_is_final_once_every_holder_synced_past_it() -> None:
    ahead = Holders((dev("g1", through=WINDOW_END + SETTLE), dev("g2", through=LATER)))
    first = _rows(ahead)[0]
    assert (first.status, first.finalised, first.held_by, first.flags) == ("present", True, (), ("overtime",))


def test_a_revoked_device_stops_holding_days() -> None:
    devices = [dev("g1", through=LATER), dev("g2", active=False)]  # g2 never synced, then revoked
    assert _rows(holders(devices, {"g1", "g2"}))[0].finalised
    devices = [dev("g1", through=LATER), dev("g2")]
    assert _rows(holders(devices, {"g1", "g2"}))[0].held_by == ("g2",)


def test_no_day_is_final_before_the_servers_clock_passes_it_whatever_the_devices_say() -> None:
    ahead = Holders((dev("g1", through=LATER + timedelta(days=30)),))  # a device clock far ahead
    row = _rows(ahead, now=WINDOW_END - timedelta(hours=1))[0]
    assert (row.status, row.finalised, row.held_by) == ("open", False, ())


def test_a_manual_record_is_final_whatever_the_devices() -> None:
    plan = Plan(defaults=((DAY - timedelta(days=30), SHIFT),), manual=(Manual(DAY, "on_leave"),))
    row = _rows(Holders((dev("g1"),)), plan=plan)[0]
    assert (row.status, row.finalised, row.held_by) == ("on_leave", True, ())


def test_without_watermarks_the_servers_clock_alone_decides_as_before() -> None:
    assert _rows(None)[0].finalised
    assert not _rows(None, now=WINDOW_END)[0].finalised
