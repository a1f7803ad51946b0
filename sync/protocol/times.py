"""The sane window for instants a person or a device states: 2000-01-01 to 2100-01-01 UTC.

A time far outside it (``0001-01-01T00:00:00+14:00``, ``9999-12-31T23:59:59-14:00``, or 2^63-1 ms) is
a typing error or an attack, never attendance: stored, it cannot even be turned back into a datetime
(Python's datetime ends at year 9999, and an offset can push year 1 or 9999 beyond it), so every report
that read it failed. One window, used at every input that carries such a time (the HR API's correction
model, the protocol's correction body) and by the readers that must survive rows stored before it.

Punch times (``device_time_ms``, ``created_at_ms``) are deliberately NOT held to it on the wire: a
terminal without a synchronised clock (a Pi has no RTC) may honestly stamp 1970, flagged by
``clock_synced``, and that punch must still be stored. Readers skip what they cannot place instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

#: First instant accepted (inclusive) and the end of the window (exclusive).
SANE_FROM = datetime(2000, 1, 1, tzinfo=UTC)
SANE_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)
SANE_FROM_MS = int(SANE_FROM.timestamp() * 1000)
SANE_UNTIL_MS = int(SANE_UNTIL.timestamp() * 1000)

_WINDOW = "from 2000-01-01 to 2100-01-01 UTC"


def check_instant(value: datetime) -> datetime:
    """``value`` if it has a UTC offset and lies in the window; ValueError (a 422 in the API) if not.

    Comparing aware datetimes never overflows, unlike converting one to UTC first."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the time needs a UTC offset, e.g. 2026-03-02T09:00:00+08:00")
    if not SANE_FROM <= value < SANE_UNTIL:
        raise ValueError(f"the time {value.isoformat()} is outside the accepted window ({_WINDOW})")
    return value


def from_unix_ms(ms: int) -> datetime | None:
    """The UTC datetime of ``ms`` if it lies in the window, else None (a row a report must skip)."""
    if not SANE_FROM_MS <= ms < SANE_UNTIL_MS:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC)


def in_window(value: datetime) -> bool:
    """Whether an aware ``value`` lies in the window."""
    return SANE_FROM <= value < SANE_UNTIL


#: An aware datetime in the window: the type of an API field or body field that a person types.
SaneInstant = Annotated[datetime, AfterValidator(check_instant)]
#: Unix milliseconds in the window (strict int, like every wire integer).
SaneUnixMs = Annotated[int, Field(ge=SANE_FROM_MS, lt=SANE_UNTIL_MS)]
