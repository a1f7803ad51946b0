"""The HR top bar is role-aware (SQLite and PostgreSQL): every link a role is shown opens (200) for that role,
and every main page it is not shown refuses it; the home page sends a role that may not read attendance to
its own first page (an employee to /me)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from sync.server import auth, users
from sync.server.pages.common import NAV, SESSION_COOKIE
from sync.server.store import HRStore, employees
from tests.server.builders import USER_PASSWORD

MAIN_PAGES = {href for href, _, _ in NAV}


def sign_in(client: TestClient, store: HRStore, role: auth.Role) -> None:
    if role == "employee":
        employees.create(store, "E1", "Wang Fang", "test")
    user_id = users.create_user(store, f"u.{role}", role, USER_PASSWORD, actor="test",
                                employee_no="E1" if role == "employee" else None)
    client.cookies.set(SESSION_COOKIE, users.start_session(store, user_id, "testclient"))


def shown_links(html: str) -> set[str]:
    header = html[html.index("<header>"):html.index("</header>")]
    return set(re.findall(r'<a href="([^"?]*)">', header))


@pytest.mark.parametrize("role", auth.ROLES)
def test_each_role_is_shown_exactly_the_pages_it_may_open(client: TestClient, store: HRStore,
                                                          role: auth.Role) -> None:
    sign_in(client, store, role)
    home = client.get("/", follow_redirects=False)
    if role in auth.READ_HR:
        assert home.status_code == 200
        landing = home.text
    else:
        assert home.status_code == 303 and home.headers["location"] != "/"
        if role == "employee":
            assert home.headers["location"] == "/me"
        landing = client.get(home.headers["location"]).text
    shown = shown_links(landing)
    assert shown and shown <= MAIN_PAGES
    for href in sorted(MAIN_PAGES):
        status = client.get(href, follow_redirects=False).status_code
        if href in shown:
            assert status == 200, (role, href, status)
        else:
            assert status != 200, (role, href, status)  # hidden only where it would not open
