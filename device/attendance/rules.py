"""Attendance rules: which work day a punch belongs to, its direction, and the per-person debounce.

Pure functions and one small class over plain values: the kiosk loop looks up the person's previous
punches in the store and passes them in, so every rule is testable with a table of cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigError, ConfigProblem
from device.attendance.outcomes import Direction
from device.config.device import AttendanceSection


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def site_zone(name: str, config_path: str = "device configuration") -> ZoneInfo:
    """The site's time zone; a name the system's zone database lacks is a config error, not UTC."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problem = ConfigProblem(None, "device.timezone", f"unknown IANA time zone {name!r} (e.g. Asia/Shanghai)")
        raise ConfigError(config_path, [problem]) from None


def work_day(moment: datetime, zone: ZoneInfo, starts: time) -> date:
    """The local work day of ``moment``: before ``starts`` (e.g. 04:00) it still belongs to the day before,
    so a night shift's 02:00 clock-out lands on the day its clock-in did."""
    if moment.tzinfo is None:
        raise ValueError("work_day needs an aware datetime")
    local = moment.astimezone(zone)
    day = local.date()
    return day - timedelta(days=1) if local.time() < starts else day


@dataclass(frozen=True)
class PreviousPunch:
    """A punch already stored for the person: what the rules need of it."""

    direction: Direction
    device_time_ms: int
    work_day: str  # ISO date


@dataclass(frozen=True)
class Accept:
    direction: Direction
    work_day: str
    source: str  # "face" or "button+face"


@dataclass(frozen=True)
class Bounce:
    """Recognised again within the debounce window of ``previous``: not a new punch."""

    previous: PreviousPunch


@dataclass(frozen=True)
class NeedDirection:
    """Direction comes from the IN/OUT buttons and none was pressed yet."""

    work_day: str


RuleResult = Accept | Bounce | NeedDirection


class PunchRules:
    def __init__(self, config: AttendanceSection, zone: ZoneInfo) -> None:
        self.mode: Literal["buttons", "alternate"] = config.direction
        self.starts = parse_hhmm(config.workday_starts)
        self.debounce_ms = config.debounce_seconds * 1000
        self.zone = zone

    def work_day(self, moment: datetime) -> str:
        return work_day(moment, self.zone, self.starts).isoformat()

    def decide(
        self,
        now: datetime,
        *,
        latest: PreviousPunch | None,
        today: Direction | None = None,
        button: Direction | None = None,
    ) -> RuleResult:
        """Decide a recognised person's punch.

        ``latest`` is the person's most recent punch on any day: the debounce window crosses the work-day
        boundary (a person standing at the camera at 03:59:50 is not two punches). ``today`` is the
        direction of their latest punch on the work day of ``now``, which the alternating rule follows.
        ``button`` is an IN/OUT press waiting to be used; a press always wins over the alternating rule.
        """
        day = self.work_day(now)
        now_ms = int(now.timestamp() * 1000)
        # A clock set backwards (no RTC, NTP correcting) gives a negative gap: that is not "within the window".
        if latest is not None and 0 <= now_ms - latest.device_time_ms < self.debounce_ms:
            return Bounce(latest)
        if button is not None:
            return Accept(button, day, "button+face")
        if self.mode == "buttons":
            return NeedDirection(day)
        if today is None:
            return Accept("in", day, "face")
        return Accept("out" if today == "in" else "in", day, "face")
