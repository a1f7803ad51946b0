"""What the HR API's routes depend on, as FastAPI dependencies: the app's store, config and photo enroller
(``sync.server.app_state``), the caller's token and its role, and the query parameters several routes share.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated

from fastapi import Depends, Query, Request

from sync.server import auth

# Re-exported: a router imports everything it depends on from this module.
from sync.server.app_state import Config as Config
from sync.server.app_state import Enroller as Enroller
from sync.server.app_state import Store as Store
from sync.server.bounds import Day


def _principal(request: Request, store: Store) -> auth.Principal:
    """The caller of an API route, from its bearer token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return auth.authenticate(store, token.strip() if scheme.lower() == "bearer" else None)


class _Role:
    """A dependency that admits the caller only with one of ``allowed`` roles."""

    def __init__(self, allowed: frozenset[auth.Role]) -> None:
        self.allowed = allowed

    def __call__(self, who: Annotated[auth.Principal, Depends(_principal)]) -> auth.Principal:
        return auth.require(who, self.allowed)


# A route parameter annotated with one of these requires a token with a matching role.
ReadHR = Annotated[auth.Principal, Depends(_Role(auth.READ_HR))]
WriteHR = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
ReadDevices = Annotated[auth.Principal, Depends(_Role(auth.READ_DEVICES))]
WriteDevices = Annotated[auth.Principal, Depends(_Role(auth.WRITE_DEVICES))]
AssignDevices = Annotated[auth.Principal, Depends(_Role(auth.ASSIGN_DEVICES))]
Operations = Annotated[auth.Principal, Depends(_Role(auth.OPERATIONS))]
Admin = Annotated[auth.Principal, Depends(_Role(auth.ADMIN))]
# Consent and enrolment records are for HR and admins only (not readonly, not IT).
ManageConsent = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
# Candidates and interview reports (transcripts are the candidate's words): HR and admins only, to read too.
Interviews = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
From = Annotated[Day, Query(alias="from", description="first day, YYYY-MM-DD (2000-01-01 or later)")]
To = Annotated[Day, Query(alias="to", description="last day, YYYY-MM-DD (inclusive, before 2100-01-01)")]
Booth = Annotated[str | None, Query(description="only this booth (device id)")]
