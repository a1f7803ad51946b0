"""The ranges every integer, day and moment the HR API accepts must lie in, as annotated types.

A path, query or body parameter typed with one of these is checked by FastAPI before the route runs, so
bad input is a 422 that says what is wrong, never a 500 from the database (an id beyond 64 bits) or from
date arithmetic (year 1 minus two days). Ids are ``core.bounds.RowId`` (the terminal panel uses it too);
days and moments lie in ``EARLIEST``..``LATEST``.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator

from core.bounds import STORE_INT_MAX as STORE_INT_MAX  # re-exported: the API's one place for its bounds
from core.bounds import RowId as RowId
from sync.protocol.times import SANE_FROM, SANE_UNTIL, in_window

#: Days and moments outside [EARLIEST, LATEST) are typing slips, not attendance (sync.protocol.times).
EARLIEST = SANE_FROM.date()
LATEST = SANE_UNTIL.date()



def _sane_day(value: date) -> date:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{value.isoformat()} is outside {EARLIEST.isoformat()}..{LATEST.isoformat()}; "
                         "give a day in that window (YYYY-MM-DD)")
    return value


def _sane_moment(value: datetime) -> datetime:
    # Naive times are read in the server's zone later; any zone is at most a day off UTC for this check.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not in_window(aware):
        raise ValueError(f"{value.isoformat()} is outside 2000-01-01..2100-01-01 UTC; give a time in that window "
                         "(ISO 8601 with offset)")
    return value


#: A day within EARLIEST..LATEST.
Day = Annotated[date, AfterValidator(_sane_day)]
#: A moment within 2000-01-01..2100-01-01 UTC.
Moment = Annotated[datetime, AfterValidator(_sane_moment)]
