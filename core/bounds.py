"""The range of integers the stores keep, as one annotated type for every id a web route accepts.

SQLite's INTEGER and PostgreSQL's BIGINT are signed 64-bit: a larger id in a path, query or body would
reach the driver and fail there (an OverflowError, HTTP 500). A route parameter typed ``RowId`` is refused
by FastAPI's validation (HTTP 422, saying the allowed range) before the route runs.
"""

from typing import Annotated

from annotated_types import Ge, Le

#: The largest integer the stores keep (signed 64 bits: SQLite INTEGER, PostgreSQL BIGINT).
STORE_INT_MAX = 2**63 - 1
#: A row id (tokens, webhooks, deliveries, shifts, punches): positive and within the stores' range.
RowId = Annotated[int, Ge(1), Le(STORE_INT_MAX)]
