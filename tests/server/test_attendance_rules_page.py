"""The attendance-rules page as a management UI (server-rendered forms): shifts created and edited with
every setting, assignments with end dates, holiday calendars for employees and sites, leave records; each
change audited; CSRF, same-origin and role checks; every route walked with every role."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from sync.server import auth
from sync.server.pages.common import SESSION_COOKIE, TOKEN_COOKIE
from sync.server.store import HRStore, attendance, attendance_plan, devices, employees, timesheet_reader
from tests.server.builders import bearer, employee_session, register
from tests.server.test_review_roles import concrete, routes

PAGE = "/attendance-rules"
#: (method, path) -> roles admitted: every route of the rules page and of the rules API.
ROUTES: dict[tuple[str, str], frozenset[auth.Role]] = {
    ("GET", PAGE): auth.READ_HR,
    ("POST", PAGE + "/shifts"): auth.WRITE_HR,
    ("POST", PAGE + "/shifts/{shift_id}"): auth.WRITE_HR,
    ("POST", PAGE + "/assignments"): auth.WRITE_HR,
    ("POST", PAGE + "/calendars"): auth.WRITE_HR,
    ("POST", PAGE + "/calendars/{calendar_id}/holidays"): auth.WRITE_HR,
    ("POST", PAGE + "/calendar-members"): auth.WRITE_HR,
    ("POST", PAGE + "/manual"): auth.WRITE_HR,
    ("PUT", "/api/shifts/{shift_id}"): auth.WRITE_HR,
    ("PUT", "/api/sites/{site}/holiday-calendar"): auth.WRITE_HR,
}
SHIFT_FORM = {
    "name": "early", "start": "07:00", "end": "15:30", "days": ["1", "2", "3", "4", "5", "6"],
    "grace_in_minutes": "5", "grace_out_minutes": "10", "overtime_after_minutes": "30",
    "checkin_before_start_min": "45", "checkout_after_end_min": "90", "half_day_below_hours": "4.5",
    "absent_below_hours": "1", "direction": "alternate", "hours": "first_last", "late_marking": "on",
    "mark_on_holidays": "on",
}


def sign_in(client: TestClient, store: HRStore, role: str) -> str:
    """Sign in with a token cookie; the page's CSRF token."""
    client.cookies.set(TOKEN_COOKIE, bearer(store, role)["Authorization"].removeprefix("Bearer "))
    page = client.get(PAGE).text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    return found.group(1) if found else ""


def audit_actions(store: HRStore) -> list[str]:
    with store.db.read() as tx:
        return [r[0] for r in tx.execute("SELECT action FROM audit_log ORDER BY id").all()]


def test_every_rules_route_is_listed_and_admits_exactly_its_roles(client: TestClient, store: HRStore) -> None:
    listed = {r for r in routes(client, api=False) if r[1].startswith(PAGE)}
    listed |= {r for r in routes(client, api=True) if r in ROUTES}
    assert listed == set(ROUTES), listed ^ set(ROUTES)
    for role in auth.ROLES:
        if role == "employee":  # a person's account, never a token: the session cookie and its CSRF header
            employees.create(store, "E-walk", "Walking Employee", "test")
            cookie, csrf = employee_session(store, "E-walk")
            headers, jar = {"X-CSRF-Token": csrf}, (SESSION_COOKIE, cookie)
        else:
            headers = bearer(store, role)
            jar = (TOKEN_COOKIE, headers["Authorization"].removeprefix("Bearer "))
        client.cookies.set(*jar)
        for (method, path), allowed in ROUTES.items():
            reply = client.request(method, concrete(path), data={} if method == "POST" else None, json=None
                                   if method != "PUT" else {}, headers=headers if path.startswith("/api") else None,
                                   follow_redirects=False)
            assert (reply.status_code == 403) == (role not in allowed), (role, method, path, reply.status_code)
        client.cookies.clear()


def test_hr_creates_and_edits_a_shift_with_every_setting(client: TestClient, store: HRStore) -> None:
    csrf = sign_in(client, store, "hr")
    reply = client.post(PAGE + "/shifts", data=SHIFT_FORM | {"csrf": csrf}, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"].startswith(PAGE + "?done=shift")
    (shift,) = attendance.shifts(store)
    assert shift | {"id": 0} == {
        "id": 0, "name": "early", "start_time": "07:00", "end_time": "15:30", "days": [1, 2, 3, 4, 5, 6],
        "grace_in_minutes": 5, "grace_out_minutes": 10, "overtime_after_minutes": 30, "checkin_before_start_min": 45,
        "checkout_after_end_min": 90, "late_marking": True, "early_marking": False, "half_day_below_hours": 4.5,
        "absent_below_hours": 1.0, "direction": "alternate", "hours_mode": "first_last", "mark_on_holidays": True,
    }
    form = client.get(f"{PAGE}?edit={shift['id']}&lang=en").text  # the edit form holds the stored values
    assert f'action="/attendance-rules/shifts/{shift["id"]}"' in form and 'value="4.5"' in form
    edited = SHIFT_FORM | {"csrf": csrf, "name": "early-2", "checkin_before_start_min": "", "early_marking": "on"}
    edited.pop("mark_on_holidays")
    assert client.post(f"{PAGE}/shifts/{shift['id']}", data=edited, follow_redirects=False).status_code == 303
    (after,) = attendance.shifts(store)
    assert (after["name"], after["checkin_before_start_min"], after["early_marking"], after["mark_on_holidays"]) == (
        "early-2", None, True, False)
    assert audit_actions(store)[-2:] == ["shift.create", "shift.update"]
    with store.db.read() as tx:
        detail = json.loads(tx.execute("SELECT detail FROM audit_log ORDER BY id DESC LIMIT 1").scalar())
    assert detail["before"]["name"] == "early" and detail["before"]["checkin_before_start_min"] == 45


def test_a_refused_shift_shows_why_and_keeps_what_was_typed(client: TestClient, store: HRStore) -> None:
    csrf = sign_in(client, store, "hr")
    bad = SHIFT_FORM | {"csrf": csrf, "checkout_after_end_min": "9999"}
    reply = client.post(PAGE + "/shifts?lang=en", data=bad)
    assert reply.status_code == 400 and "checkout_after_end_min" in reply.text and 'value="early"' in reply.text
    assert attendance.shifts(store) == []
    assert client.post(PAGE + "/shifts", data=SHIFT_FORM | {"csrf": csrf, "start": "7am"}).status_code == 400
    assert client.post(PAGE + "/shifts/12345", data=SHIFT_FORM | {"csrf": csrf}).status_code == 400  # no such shift


def test_forms_need_the_sessions_token_and_this_origin(client: TestClient, store: HRStore) -> None:
    csrf = sign_in(client, store, "hr")
    assert client.post(PAGE + "/shifts", data=SHIFT_FORM).status_code == 400
    assert client.post(PAGE + "/shifts", data=SHIFT_FORM | {"csrf": "0" * 64}).status_code == 400
    elsewhere = {"origin": "https://evil.example"}
    assert client.post(PAGE + "/shifts", data=SHIFT_FORM | {"csrf": csrf}, headers=elsewhere).status_code == 400
    assert attendance.shifts(store) == []
    readonly = sign_in(client, store, "readonly")  # a valid token of a role that may only read
    assert client.post(PAGE + "/shifts", data=SHIFT_FORM | {"csrf": readonly}).status_code == 403
    page = client.get(PAGE + "?lang=en").text
    assert 'id="read-only"' in page and 'id="shift-form"' not in page


def test_assignments_calendars_and_leave_through_the_forms_shape_the_timesheet(
    client: TestClient, store: HRStore
) -> None:
    employees.create(store, "E001", "Li Lei", actor="test")
    register(store, "gate-1")
    csrf = sign_in(client, store, "hr")
    client.post(PAGE + "/shifts", data=SHIFT_FORM | {"csrf": csrf, "days": [str(d) for d in range(1, 8)]})
    (shift,) = attendance.shifts(store)

    def post(path: str, **data: str) -> int:
        return client.post(PAGE + path, data=data | {"csrf": csrf}, follow_redirects=False).status_code

    assert post("/assignments", employee_no="E001", shift_id=str(shift["id"]), valid_from="2026-03-02",
                valid_to="2026-03-06") == 303
    assert attendance.assignments(store, "E001")[0]["valid_to"] == "2026-03-06"
    assert post("/assignments", employee_no="E001", shift_id=str(shift["id"]), valid_from="2026-03-09",
                valid_to="2026-03-08") == 400  # ends before it starts
    assert post("/calendars", name="Shanghai 2026") == 303
    (cal,) = attendance_plan.calendars(store)
    assert post(f"/calendars/{cal['id']}/holidays", day="2026-03-03", name="test day") == 303
    assert post(f"/calendars/{cal['id']}/holidays", day="2026-03-04", name="gone soon") == 303
    assert post(f"/calendars/{cal['id']}/holidays", day="2026-03-04", remove="on") == 303
    assert post(f"/calendars/{cal['id']}/holidays", day="March 5") == 400
    assert post("/calendar-members", site="HQ", calendar_id=str(cal["id"])) == 303
    assert post("/manual", employee_no="E001", day="2026-03-05", status="on_leave", shift_id="",
                reason="annual leave") == 303
    (cal,) = attendance_plan.calendars(store)
    assert [h["day"] for h in cal["holidays"]] == ["2026-03-03"] and cal["sites"] == ["HQ"]
    rows = {r.day: r for r in timesheet_reader.load(store, date(2026, 3, 2), date(2026, 3, 5), "E001").rows}
    # Not assigned to gate-1 yet: the site calendar does not apply to E001.
    assert rows[date(2026, 3, 3)].status != "holiday" and rows[date(2026, 3, 5)].status == "on_leave"
    devices.assign(store, "gate-1", ["E001"], actor="it")  # on the site's device now: its holidays apply
    rows = {r.day: r for r in timesheet_reader.load(store, date(2026, 3, 2), date(2026, 3, 5), "E001").rows}
    assert rows[date(2026, 3, 3)].status == "holiday"
    assert post("/calendar-members", employee_no="E001", calendar_id="") == 303  # own calendar: none = default
    rules = [a for a in audit_actions(store) if a.startswith(("shift.", "calendar.", "attendance."))]
    assert rules[-8:] == [
        "shift.assign", "calendar.create", "calendar.holiday.set", "calendar.holiday.set",
        "calendar.holiday.remove", "calendar.site", "attendance.manual", "calendar.assign",
    ]
    page = client.get(PAGE + "?lang=zh-CN").text
    assert "节假日日历" in page and "Shanghai 2026" in page and "2026-03-03" in page


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_page_speaks_both_languages(client: TestClient, store: HRStore, lang: str) -> None:
    sign_in(client, store, "hr")
    page = client.get(f"{PAGE}?lang={lang}").text
    assert ("New shift" if lang == "en" else "新建班次") in page
    assert ("hr.rules." not in page) and ("Weekdays" if lang == "en" else "工作日") in page
