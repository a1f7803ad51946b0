"""HR's timesheet page and the devices page over a real store (SQLite and PostgreSQL) through the app:
per-person totals, filters, search and paging; the trend chart and its table; corrections from the page
(CSRF, same origin, roles, audited, counted after); the payroll CSV with the page's filters; device status,
key rotation and revocation with a reason."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from sync.server import timesheet_summary, trend_chart
from sync.server.api import create_app
from sync.server.config import BrokerSection, ServerConfig
from sync.server.store import HRStore, attendance, audit, devices, downlinks, employees, records
from tests.server.builders import BASE_MS, punch_record
from tests.server.timesheet_seed import DAY, NOW, PASSWORD, add_user, seed

RANGE = "from=2026-03-02&to=2026-03-03"


@pytest.fixture
def app_client(store: HRStore) -> Iterator[TestClient]:
    store.clock = lambda: NOW
    seed(store)
    with TestClient(create_app(ServerConfig(broker=BrokerSection(tls=False)), store)) as c:
        yield c


def sign_in(client: TestClient, store: HRStore, username: str, role: str) -> None:
    add_user(store, username, role)
    reply = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert reply.status_code == 303


def totals(page: str) -> dict[str, dict[str, str]]:
    """Per employee row of the totals table: each cell's class -> its text."""
    found = {}
    for no, row in re.findall(r'<tr data-employee="([^"]+)">(.*?)</tr>', page, re.S):
        cells = re.findall(r'<td class="(\w+)"[^>]*>(.*?)</td>', row, re.S)
        found[no] = {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in cells}
    return found


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def test_totals_filters_search_and_paging(app_client: TestClient, store: HRStore) -> None:
    sign_in(app_client, store, "hr.one", "hr")
    page = app_client.get(f"/timesheets?{RANGE}&lang=en").text
    got = totals(page)
    assert got["E001"] | {"name": ""} == {"name": "", "worked": "17:50", "late": "10", "early": "0", "overtime": "0",
                                          "absences": "0", "present": "2"}
    assert (got["E002"]["worked"], got["E002"]["early"], got["E002"]["present"]) == ("8:00", "60", "2")
    assert (got["E003"]["absences"], got["E003"]["present"]) == ("2", "0")
    assert "missing punch 1" in page  # E002's Tuesday
    assert set(totals(app_client.get(f"/timesheets?{RANGE}&site=Plant").text)) == {"E002", "E003"}  # E003: assigned
    assert set(totals(app_client.get(f"/timesheets?{RANGE}&device=gate-1").text)) == {"E001"}
    assert set(totals(app_client.get(f"/timesheets?{RANGE}&q=han").text)) == {"E002"}
    assert set(totals(app_client.get(f"/timesheets?{RANGE}&q=e00").text)) == {"E001", "E002", "E003"}
    assert set(totals(app_client.get(f"/timesheets?{RANGE}&q=李").text)) == {"E001"}
    assert totals(app_client.get(f"/timesheets?{RANGE}&shift=night").text) == {}
    for n in range(40):
        employees.create(store, f"X{n:03d}", f"Extra {n:03d}", "hr")
    first = app_client.get(f"/timesheets?{RANGE}&per=25").text
    assert len(totals(first)) == 25 and ">1 / 2<" in first and 'id="next"' in first
    second = app_client.get(f"/timesheets?{RANGE}&per=25&page=2").text
    assert len(totals(second)) == 18 and 'id="prev"' in second and not set(totals(first)) & set(totals(second))
    assert len(totals(app_client.get(f"/timesheets?{RANGE}&per=25&page=99").text)) == 18  # clamped to the last


def test_trend_chart_has_a_title_a_description_and_a_table(app_client: TestClient, store: HRStore) -> None:
    sign_in(app_client, store, "hr.one", "hr")
    page = app_client.get(f"/timesheets?{RANGE}&lang=en").text
    rows = dict(re.findall(r'<tr data-day="([\d-]+)">(.*?)</tr>', page, re.S))
    cells = {day: re.findall(r"<td[^>]*>([^<]*)</td>", row) for day, row in rows.items()}
    # Monday: 3 expected, 2 present (E001 late), E003 absent; Tuesday: E002's day without an out is present.
    assert cells["2026-03-02"] == ["2026-03-02", "3", "2", "1", "67%", "50%"]
    assert cells["2026-03-03"] == ["2026-03-03", "3", "2", "0", "67%", "0%"]
    assert '<title id="trend-title">' in page and '<desc id="trend-desc">' in page
    assert 'aria-labelledby="trend-title trend-desc"' in page
    assert page.count('<rect class="bar"') == 2
    assert "考勤" in app_client.get(f"/timesheets?{RANGE}&lang=zh-CN").text


def test_trend_chart_breaks_its_line_on_a_day_without_anybody_present() -> None:
    days = [timesheet_summary.TrendDay(date(2026, 3, d), e, p, late) for d, e, p, late in
            ((2, 4, 4, 1), (3, 4, 0, 0), (4, 0, 0, 0), (5, 2, 2, 2), (6, 2, 1, 0))]
    chart = trend_chart.chart(days)
    assert len(chart.bars) == 4  # the 4th has nobody expected: no bar
    assert [len(line.split()) for line in chart.lines] == [1, 2]
    full, empty = chart.bars[0], chart.bars[1]
    assert empty.height == 0 and full.y == trend_chart.TOP and "100%" in full.label


def test_correcting_a_day_from_the_page_changes_the_totals_and_is_audited(
    app_client: TestClient, store: HRStore
) -> None:
    sign_in(app_client, store, "hr.one", "hr")
    person = f"/timesheets/people/E002?{RANGE}"
    page = app_client.get(person + "&lang=en").text
    assert 'id="t-worked" data-minutes="480"' in page and "missing punch" in page
    token = csrf_of(page)
    form = {"csrf": token, "action": "add", "day": "2026-03-03", "at": "18:00", "direction": "out",
            "reason": "badge left at home"}
    assert app_client.post(f"/timesheets/people/E002/corrections?{RANGE}", data=form | {"csrf": ""}).status_code == 400
    refused = app_client.post(f"/timesheets/people/E002/corrections?{RANGE}", data=form,
                              headers={"Origin": "https://evil.example"})
    assert refused.status_code == 400
    short = app_client.post(f"/timesheets/people/E002/corrections?{RANGE}", data=form | {"reason": "x"})
    assert short.status_code == 400 and 'id="correction-error"' in short.text
    assert employees_corrections(store) == []
    done = app_client.post(f"/timesheets/people/E002/corrections?{RANGE}", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(person + "&done=add")
    after = app_client.get(done.headers["location"]).text
    assert 'id="t-worked" data-minutes="1020"' in after and "badge left at home" in after
    assert totals(app_client.get(f"/timesheets?{RANGE}").text)["E002"]["worked"] == "17:00"
    entry = next(e for e in audit.entries(store, "employee:E002") if e["action"] == "correction.create")
    assert entry["actor"].startswith("user:") and entry["actor"].endswith(":hr.one")
    assert entry["detail"]["reason"] == "badge left at home" and entry["detail"]["direction"] == "out"
    # Void E002's Monday out: Monday's hours go, and the day says a punch is missing.
    void = {"csrf": token, "action": "void", "punch_uid": "gate-2-punch-2", "reason": "wrong person"}
    assert app_client.post(f"/timesheets/people/E002/corrections?{RANGE}", data=void).status_code == 200
    assert totals(app_client.get(f"/timesheets?{RANGE}").text)["E002"]["worked"] == "9:00"
    stranger = {"csrf": token, "action": "void", "punch_uid": "gate-1-punch-1", "reason": "not theirs"}
    assert app_client.post(f"/timesheets/people/E002/corrections?{RANGE}", data=stranger).status_code == 400


def employees_corrections(store: HRStore) -> list[str]:
    return [e["action"] for e in audit.entries(store) if e["action"] == "correction.create"]


def test_a_readonly_user_reads_but_may_not_correct(app_client: TestClient, store: HRStore) -> None:
    sign_in(app_client, store, "viewer", "readonly")
    page = app_client.get(f"/timesheets/people/E002?{RANGE}").text
    assert 'id="add-punch"' not in page and "t-worked" in page
    sent = {"csrf": "x", "action": "add", "day": "2026-03-03", "at": "18:00", "direction": "out", "reason": "r r r"}
    assert app_client.post("/timesheets/people/E002/corrections", data=sent).status_code == 403
    assert employees_corrections(store) == []


def test_the_payroll_csv_follows_the_page_filters(app_client: TestClient, store: HRStore) -> None:
    sign_in(app_client, store, "hr.one", "hr")
    page = app_client.get(f"/timesheets?{RANGE}&site=Plant&q=han").text
    link = re.search(r'id="csv" href="([^"]+)"', page)
    assert link is not None
    reply = app_client.get(link.group(1).replace("&amp;", "&"))
    assert reply.headers["content-disposition"] == 'attachment; filename="timesheets_2026-03-02_2026-03-03.csv"'
    rows = list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))
    assert [(r["employee_no"], r["day"], r["worked_minutes"]) for r in rows] == [
        ("E002", "2026-03-02", "480"), ("E002", "2026-03-03", "0")]


def device_row(page: str, device_id: str) -> dict[str, str]:
    row = re.search(rf'<tr data-device="{device_id}">(.*?)</tr>', page, re.S)
    assert row is not None
    return {k: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", v)).strip()
            for k, v in re.findall(r'<td class="(\w+)[^"]*"[^>]*>(.*?)</td>', row.group(1), re.S)}


def test_devices_page_shows_what_the_server_stores(app_client: TestClient, store: HRStore) -> None:
    sign_in(app_client, store, "viewer", "readonly")
    page = app_client.get("/devices?lang=en").text
    gate1, gate2 = device_row(page, "gate-1"), device_row(page, "gate-2")
    assert "online" in gate1["status"] and gate1["heard"] == "2026-03-04 12:00"
    assert gate1["clock"].startswith("clock unsynchronised") and "2026-03-03 18:00" in gate1["clock"]
    assert gate1["versions"].startswith("embedder: test") and "not stored" in gate1["versions"]
    assert gate2["pending"] == "1" and gate1["pending"] == "0"  # the gallery command for gate-2's people
    assert gate2["clock"].startswith("synchronised")
    assert 'id="revoke-gate-1"' not in page  # readonly: no actions


def test_rotate_and_revoke_from_the_page_with_a_reason(app_client: TestClient, store: HRStore) -> None:
    sign_in(app_client, store, "ops", "it")
    confirm = app_client.get("/devices/gate-1/confirm?action=rotate&lang=en").text
    assert 'action="/devices/gate-1/rotate-keys"' in confirm
    token = csrf_of(confirm)
    assert app_client.post("/devices/gate-1/rotate-keys", data={"csrf": token, "reason": ""}).status_code == 400
    assert app_client.post("/devices/gate-1/rotate-keys", data={"csrf": "", "reason": "key leaked"}).status_code == 400
    assert [d["type"] for d in downlinks.pending(store, "gate-1")] == []
    done = app_client.post("/devices/gate-1/rotate-keys", data={"csrf": token, "reason": "yearly rotation"})
    assert done.status_code == 200 and 'id="device-done"' in done.text and 'id="rotation-gate-1"' in done.text
    assert [d["type"] for d in downlinks.pending(store, "gate-1")] == ["rotate-key"]
    revoked = app_client.post("/devices/gate-2/revoke", data={"csrf": token, "reason": "stolen from the plant"})
    assert revoked.status_code == 200 and "ops/ca/edgehr-ca revoke" in revoked.text  # no CA here: the command
    assert devices.get(store, "gate-2")["status"] == "revoked" and not devices.is_active(store, "gate-2")
    again = app_client.post("/devices/gate-2/revoke", data={"csrf": token, "reason": "stolen from the plant"})
    assert again.status_code == 409
    subjects = ("device:gate-1", "device:gate-2")
    logged = {e["action"]: e["detail"] for e in audit.entries(store) if e["subject"] in subjects}
    assert logged["device.revoke"] == {"reason": "stolen from the plant"}
    assert logged["device.rotate-keys"]["reason"] == "yearly rotation"


@pytest.mark.parametrize("role", ["hr", "readonly"])
def test_only_admins_and_it_may_revoke_or_rotate(app_client: TestClient, store: HRStore, role: str) -> None:
    sign_in(app_client, store, f"user.{role}", role)
    assert app_client.get("/devices/gate-1/confirm?action=revoke").status_code == 403
    assert app_client.post("/devices/gate-1/revoke", data={"csrf": "x", "reason": "because"}).status_code == 403
    assert app_client.post("/devices/gate-1/rotate-keys", data={"csrf": "x", "reason": "because"}).status_code == 403
    assert devices.is_active(store, "gate-1") and downlinks.pending(store, "gate-1") == []


def test_paging_reuses_the_computed_report_until_an_input_changes(app_client: TestClient, store: HRStore) -> None:
    sign_in(app_client, store, "hr.one", "hr")
    before = totals(app_client.get(f"/timesheets?{RANGE}").text)
    cache = app_client.app.state.timesheet_reports  # type: ignore[attr-defined]
    for query in ("&site=Plant", "&q=han", "&per=25&page=1", "&shift=day"):
        app_client.get(f"/timesheets?{RANGE}{query}")
    app_client.get(f"/timesheets.csv?{RANGE}")
    app_client.get(f"/timesheets/people/E003?{RANGE}")
    assert cache.computed == 1
    # A punch arrives (E003 comes on Tuesday): the next view computes again and shows it.
    records.ingest(store, "gate-2", [punch_record(9, employee_no="E003", at_ms=BASE_MS + DAY, device_id="gate-2")])
    assert totals(app_client.get(f"/timesheets?{RANGE}").text)["E003"]["present"] == "1"
    assert cache.computed == 2
    # A plan change (audited): E003 moves to the night shift from Tuesday.
    night = next(s["id"] for s in attendance.shifts(store) if s["name"] == "night")
    attendance.assign_shift(store, "E003", night, date(2026, 3, 3), "hr")
    assert totals(app_client.get(f"/timesheets?{RANGE}&shift=day").text)["E003"]["absences"] == "1"
    assert cache.computed == 3
    # The clock moves on a minute: days may become final, so the report is computed again.
    store.clock = lambda: NOW + timedelta(minutes=1)
    assert totals(app_client.get(f"/timesheets?{RANGE}").text)["E001"] == before["E001"]
    assert cache.computed == 4
