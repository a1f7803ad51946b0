"""Every route, every role, and no token: the HR API answers 401 without a token (except the public health
routes) and each interview-area route (review, bias audit, demographics, candidate rights, retention, the
interview reports) admits exactly its roles; the pages send a visitor without a cookie to the login page
and show the interview-area pages only to their roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from sync.server import auth, users
from sync.server.pages.common import SESSION_COOKIE, TOKEN_COOKIE
from sync.server.store import HRStore, employees
from tests.server.builders import bearer, employee_session

PUBLIC = {"/api/health", "/api/health/live", "/api/health/ready"}
REVIEW, AUDIT, RIGHTS = auth.REVIEW, auth.AUDIT, auth.CANDIDATE_RIGHTS
INTERVIEWS = auth.WRITE_HR
#: (method, path) -> roles admitted, for every route of the interview area.
API: dict[tuple[str, str], frozenset[auth.Role]] = {
    ("GET", "/api/review/roles"): REVIEW,
    ("GET", "/api/review/roles/{role_id}"): REVIEW,
    ("GET", "/api/review/interviews/{session_id}"): REVIEW,
    ("POST", "/api/review/interviews/{session_id}/overrides"): REVIEW,
    ("POST", "/api/review/candidates/{candidate_id}/decision"): REVIEW,
    ("GET", "/api/review/candidates/{candidate_id}/decisions"): REVIEW,
    ("GET", "/api/bias-audit"): AUDIT,
    ("GET", "/api/bias-audit.csv"): AUDIT,
    ("GET", "/api/demographics/categories"): auth.RECORD_DEMOGRAPHICS,
    ("GET", "/api/candidates/{candidate_id}/demographics"): auth.READ_DEMOGRAPHICS,
    ("PUT", "/api/candidates/{candidate_id}/demographics"): auth.RECORD_DEMOGRAPHICS,
    ("GET", "/api/candidates/{candidate_id}/export"): RIGHTS,
    ("GET", "/api/candidates/{candidate_id}/export.html"): RIGHTS,
    ("POST", "/api/candidates/{candidate_id}/erasure"): RIGHTS,
    ("GET", "/api/erasures/{erasure_id}"): RIGHTS,
    ("GET", "/api/retention/policies"): auth.READ_RETENTION,
    ("PUT", "/api/retention/policies/{site}"): auth.ADMIN,
    ("GET", "/api/retention/runs"): auth.READ_RETENTION,
    ("GET", "/api/retention/booth-runs"): auth.READ_RETENTION,
    ("POST", "/api/retention/run"): auth.ADMIN,
    ("GET", "/api/interviews"): INTERVIEWS,
    ("GET", "/api/interviews.csv"): INTERVIEWS,
    ("GET", "/api/interviews/{session_id}"): INTERVIEWS,
    ("DELETE", "/api/interviews/{session_id}"): INTERVIEWS,
    ("POST", "/api/candidates"): INTERVIEWS,
    ("GET", "/api/candidates"): INTERVIEWS,
    ("GET", "/api/candidates/{candidate_id}"): INTERVIEWS,
    ("PUT", "/api/candidates/{candidate_id}"): INTERVIEWS,
    ("DELETE", "/api/candidates/{candidate_id}"): INTERVIEWS,
}
PAGES: dict[tuple[str, str], frozenset[auth.Role]] = {
    ("GET", "/interviews"): REVIEW,
    ("GET", "/interviews/{session_id}"): REVIEW,
    ("POST", "/interviews/{session_id}/override"): REVIEW,
    ("POST", "/interviews/{session_id}/decision"): REVIEW,
    ("GET", "/bias-audit"): AUDIT,
    ("GET", "/candidates/{candidate_id}/export"): RIGHTS,
    ("GET", "/candidates/{candidate_id}/export.json"): RIGHTS,
    ("POST", "/candidates/{candidate_id}/erase"): RIGHTS,
    ("GET", "/erasures/{erasure_id}"): RIGHTS,
    ("GET", "/retention"): auth.READ_RETENTION,
    ("POST", "/retention/policy"): auth.ADMIN,
}
#: The attendance and device pages with their own roles (issue 19): a form refused for its missing CSRF
#: token is a 400, so a 403 always means the role.
HR_PAGES: dict[tuple[str, str], frozenset[auth.Role]] = {
    ("GET", "/timesheets"): auth.READ_HR,
    ("GET", "/timesheets.csv"): auth.READ_HR,
    ("GET", "/timesheets/people/{employee_no}"): auth.READ_HR,
    ("POST", "/timesheets/people/{employee_no}/corrections"): auth.WRITE_HR,
    ("GET", "/devices"): auth.READ_DEVICES,
    ("GET", "/devices/{device_id}/confirm"): auth.WRITE_DEVICES,
    ("POST", "/devices/{device_id}/revoke"): auth.WRITE_DEVICES,
    ("POST", "/devices/{device_id}/rotate-keys"): auth.WRITE_DEVICES,
}
QUERY = "?role_id=r&from=2026-03-01&to=2026-03-31"
FORM = {"competency": "ownership", "score": "1", "reason": "r", "decision": "hold"}


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (none of ours has a prefix)
            yield from _walk(route.original_router.routes)


def routes(client: TestClient, api: bool) -> list[tuple[str, str]]:
    found = []
    for route in _walk(client.app.routes):  # type: ignore[attr-defined]
        if route.path.startswith("/api") == api:
            found.extend((method, route.path) for method in sorted(route.methods - {"HEAD"}))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nobody", path)


def test_every_api_route_refuses_a_caller_without_a_token(client: TestClient) -> None:
    listed = routes(client, api=True)
    assert set(API) <= set(listed), set(API) - set(listed)
    for method, path in listed:
        status = client.request(method, concrete(path) + QUERY, json={}).status_code
        assert status == 401 or path in PUBLIC, (method, path, status)


@pytest.mark.parametrize("role", auth.ROLES)
def test_every_interview_route_admits_exactly_its_roles(client: TestClient, store: HRStore, role: str) -> None:
    if role == "employee":  # a person's account, never a token: the session cookie (and its CSRF header)
        employees.create(store, "E1", "Employee One", "test")
        cookie, csrf = employee_session(store, "E1")
        headers, cookie_name = {"X-CSRF-Token": csrf}, SESSION_COOKIE
        client.cookies.set(SESSION_COOKIE, cookie)
    else:
        headers, cookie_name = bearer(store, role), TOKEN_COOKIE
    for (method, path), allowed in API.items():
        status = client.request(method, concrete(path) + QUERY, json={}, headers=headers).status_code
        assert (status == 403) == (role not in allowed), (role, method, path, status)
        assert status != 401, (role, method, path)
    client.cookies.set(cookie_name, cookie if role == "employee" else headers["Authorization"].removeprefix("Bearer "))
    try:
        for (method, path), allowed in PAGES.items():
            reply = client.request(
                method, concrete(path), data=FORM if method == "POST" else None, follow_redirects=False
            )
            assert (reply.status_code == 403) == (role not in allowed), (role, method, path, reply.status_code)
    finally:
        client.cookies.clear()


@pytest.mark.parametrize("role", auth.ROLES)
def test_every_attendance_and_device_page_admits_exactly_its_roles(
    client: TestClient, store: HRStore, role: str
) -> None:
    assert set(HR_PAGES) <= set(routes(client, api=False))
    if role == "employee":  # an employee account is linked to its employee
        employees.create(store, "E1", "Employee One", "test")
    users.create_user(store, f"walk.{role}", role, "a long enough password", actor="test",
                      employee_no="E1" if role == "employee" else None)
    signed = client.post("/login", data={"username": f"walk.{role}", "password": "a long enough password"},
                         follow_redirects=False)
    assert signed.status_code == 303
    try:
        for (method, path), allowed in HR_PAGES.items():
            data = {"reason": "walk", "action": "add"} if method == "POST" else None
            reply = client.request(method, concrete(path) + QUERY, data=data, follow_redirects=False)
            assert (reply.status_code == 403) == (role not in allowed), (role, method, path, reply.status_code)
            assert reply.status_code < 500 and reply.status_code not in (401, 303), (role, method, path)
    finally:
        client.cookies.clear()


def test_every_page_sends_a_visitor_without_a_cookie_to_log_in(client: TestClient) -> None:
    for method, path in routes(client, api=False):
        if path in ("/login", "/logout") or path.startswith(("/static", "/openapi", "/docs", "/redoc")):
            continue
        reply = client.request(method, concrete(path), data=FORM if method == "POST" else None, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"] == "/login", (method, path, reply.status_code)
