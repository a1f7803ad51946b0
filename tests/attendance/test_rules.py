"""Attendance rules, table-driven: work day boundary, first punch in, alternating, debounce, buttons."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.errors import ConfigError
from device.attendance.rules import Accept, Bounce, NeedDirection, PreviousPunch, PunchRules, site_zone, work_day
from device.config.device import AttendanceSection

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("moment", "starts", "expected"),
    [
        ("2026-03-02 08:00", "04:00", "2026-03-02"),
        ("2026-03-02 04:00", "04:00", "2026-03-02"),  # the boundary itself starts the new day
        ("2026-03-02 03:59", "04:00", "2026-03-01"),  # a night shift's early-hours punch: day before
        ("2026-03-02 00:30", "00:00", "2026-03-02"),
        ("2026-03-01 23:59", "00:00", "2026-03-01"),
        ("2026-03-02 05:59", "06:30", "2026-03-01"),
    ],
)
def test_work_day_boundary(moment: str, starts: str, expected: str) -> None:
    hours, minutes = starts.split(":")
    assert work_day(local(moment), SHANGHAI, time(int(hours), int(minutes))) == date.fromisoformat(expected)


def test_work_day_uses_the_site_zone_not_utc() -> None:
    # 2026-03-01 22:00 UTC is 06:00 on 2 March in Shanghai.
    assert work_day(datetime(2026, 3, 1, 22, 0, tzinfo=UTC), SHANGHAI, time(4, 0)) == date(2026, 3, 2)


def rules(**overrides: object) -> PunchRules:
    return PunchRules(AttendanceSection.model_validate({"debounce_seconds": 60, **overrides}), SHANGHAI)


NOW = local("2026-03-02 09:00")


def decide(latest: PreviousPunch | None, button: str | None = None, **overrides: object) -> object:
    """Decide at NOW, with today's last direction taken from ``latest`` when it is on today's work day."""
    today = latest.direction if latest is not None and latest.work_day == "2026-03-02" else None
    return rules(**overrides).decide(NOW, latest=latest, today=today, button=button)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "latest", "button", "expected"),
    [
        ("first punch of the day is in", None, None, Accept("in", "2026-03-02", "face")),
        (
            "after an in comes an out",
            PreviousPunch("in", ms(local("2026-03-02 08:00")), "2026-03-02"),
            None,
            Accept("out", "2026-03-02", "face"),
        ),
        (
            "after an out comes an in",
            PreviousPunch("out", ms(local("2026-03-02 08:30")), "2026-03-02"),
            None,
            Accept("in", "2026-03-02", "face"),
        ),
        (
            "yesterday's in does not make today's first punch an out",
            PreviousPunch("in", ms(local("2026-03-01 18:00")), "2026-03-01"),
            None,
            Accept("in", "2026-03-02", "face"),
        ),
        (
            "within the debounce window: no new punch",
            PreviousPunch("in", ms(local("2026-03-02 08:59:30")), "2026-03-02"),
            None,
            Bounce(PreviousPunch("in", ms(local("2026-03-02 08:59:30")), "2026-03-02")),
        ),
        (
            "debounce applies even to a button press",
            PreviousPunch("in", ms(local("2026-03-02 08:59:30")), "2026-03-02"),
            "out",
            Bounce(PreviousPunch("in", ms(local("2026-03-02 08:59:30")), "2026-03-02")),
        ),
        (
            "exactly at the end of the window is a new punch",
            PreviousPunch("in", ms(local("2026-03-02 08:59:00")), "2026-03-02"),
            None,
            Accept("out", "2026-03-02", "face"),
        ),
        (
            "a clock set backwards is not a debounce",
            PreviousPunch("in", ms(local("2026-03-02 09:00:30")), "2026-03-02"),
            None,
            Accept("out", "2026-03-02", "face"),
        ),
        (
            "a button overrides the alternating rule",
            PreviousPunch("in", ms(local("2026-03-02 08:00")), "2026-03-02"),
            "in",
            Accept("in", "2026-03-02", "button+face"),
        ),
        ("a button on the first punch", None, "out", Accept("out", "2026-03-02", "button+face")),
    ],
)
def test_direction_and_debounce(case: str, latest: PreviousPunch | None, button: str | None, expected: object) -> None:
    assert decide(latest, button) == expected, case


def test_debounce_window_crosses_the_work_day_boundary() -> None:
    before = local("2026-03-02 03:59:40")
    latest = PreviousPunch("out", ms(before), "2026-03-01")
    assert isinstance(rules().decide(local("2026-03-02 04:00:10"), latest=latest), Bounce)
    assert rules().decide(local("2026-03-02 04:01:00"), latest=latest, today=None) == Accept("in", "2026-03-02", "face")


def test_alternation_follows_todays_last_punch_not_the_latest_recorded() -> None:
    # A manual correction for yesterday was recorded after today's "in": today's next punch is still "out".
    latest = PreviousPunch("out", ms(local("2026-03-01 17:00")), "2026-03-01")
    assert rules().decide(NOW, latest=latest, today="in") == Accept("out", "2026-03-02", "face")


def test_buttons_mode_waits_for_a_press() -> None:
    r = rules(direction="buttons")
    assert r.decide(NOW, latest=None) == NeedDirection("2026-03-02")
    assert r.decide(NOW, latest=None, button="out") == Accept("out", "2026-03-02", "button+face")


def test_zero_debounce_never_bounces() -> None:
    latest = PreviousPunch("in", ms(NOW), "2026-03-02")
    assert decide(latest, debounce_seconds=0) == Accept("out", "2026-03-02", "face")


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        site_zone("Mars/Olympus", "site.toml")
