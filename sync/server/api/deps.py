"""What the HR API's routes depend on, as FastAPI dependencies: the app's store, config and photo enroller
(``sync.server.app_state``), the caller's token and its role, and the query parameters several routes share.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

import hmac
from typing import Annotated

from fastapi import Depends, Query, Request

from sync.server import auth, users

# Re-exported: a router imports everything it depends on from this module.
from sync.server.app_state import Config as Config
from sync.server.app_state import Enroller as Enroller
from sync.server.app_state import Store as Store
from sync.server.bounds import Day

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _principal(request: Request, store: Store) -> auth.Principal:
    """The caller of an API route: its bearer token, else a signed-in HR user's session cookie (how an
    employee's browser reaches self-service). A change made with the cookie must carry the session's CSRF
    token in the X-CSRF-Token header; the cookie is SameSite=Strict besides."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" or users.SESSION_COOKIE not in request.cookies:
        return auth.authenticate(store, token.strip() if scheme.lower() == "bearer" else None)
    found = users.session(store, request.cookies.get(users.SESSION_COOKIE))
    if found is None:
        return auth.authenticate(store, None)  # 401: the session ended or never existed
    if request.method not in _SAFE_METHODS and not hmac.compare_digest(
        found.csrf, request.headers.get(users.CSRF_HEADER, "")
    ):
        raise auth.AuthError("A change from a signed-in browser came without its CSRF token.",
                             "Send the page's CSRF token in the X-CSRF-Token header.", code="forbidden", status=403)
    return found.principal


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
# Employee self-service: the signed-in employee's own data only (the route reads who.employee_no, nothing else).
SelfService = Annotated[auth.Principal, Depends(_Role(auth.SELF_SERVICE))]
DecideRequests = Annotated[auth.Principal, Depends(_Role(auth.DECIDE_REQUESTS))]
# Consent and enrolment records are for HR and admins only (not readonly, not IT).
ManageConsent = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
# Candidates and interview reports (transcripts are the candidate's words): HR and admins only, to read too.
Interviews = Annotated[auth.Principal, Depends(_Role(auth.WRITE_HR))]
From = Annotated[Day, Query(alias="from", description="first day, YYYY-MM-DD (2000-01-01 or later)")]
To = Annotated[Day, Query(alias="to", description="last day, YYYY-MM-DD (inclusive, before 2100-01-01)")]
Booth = Annotated[str | None, Query(description="only this booth (device id)")]
