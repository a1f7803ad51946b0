"""The terminal's admin pages over a real store and gpiozero's MockFactory pins: corrections travel as
``punch-correction`` outbox records (audited), a viewer sees every page and can change nothing, the
diagnostics drive the real GPIO devices, and the first run's admin account is made only at the device."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from device.config import load_device_config
from device.store import outbox
from sync.protocol import PunchCorrectionBody
from tests.panel.terminal_site import PASSWORD, PINS, VIEWER_PASSWORD, TerminalSite, build_terminal_site, punch
from tests.panel.test_settings_form import form_of

GETS = ["/admin/dashboard", "/admin/enrol", "/admin/enrol/E1", "/admin/punches", "/admin/settings",
        "/admin/diagnostics", "/admin/audit", "/admin/accounts", "/admin/booth-sessions"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[TerminalSite]:
    built = build_terminal_site(tmp_path)
    yield built
    built.close()


def signed_in(site: TerminalSite, user: str = "admin", password: str = PASSWORD) -> tuple[TestClient, str]:
    client = TestClient(site.app, follow_redirects=False)
    response = client.post("/admin/login?lang=en", data={"user": user, "password": password})
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/dashboard")
    page = client.get("/admin/punches?lang=en")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return client, found.group(1)


def test_every_page_renders_in_both_languages(site: TerminalSite) -> None:
    punch(site, "E1")
    client, _ = signed_in(site)
    for path in GETS:
        for lang, word in (("en", "Log out"), ("zh-CN", "退出")):
            page = client.get(f"{path}?lang={lang}")
            assert page.status_code == 200, (path, lang)
            assert word in page.text
    assert "帧率" in client.get("/admin/settings?lang=zh-CN").text  # field titles in the page's language


def test_the_settings_page_describes_every_field_it_renders_in_both_languages(site: TerminalSite) -> None:
    import html

    from core.i18n import catalog

    client, _ = signed_in(site)
    hint = re.compile(r'<span class="hint" id="h-([^"]+)">([^<]*)</span>')
    pages = {lang: client.get(f"/admin/settings?lang={lang}").text for lang in ("en", "zh-CN")}
    shown = {lang: dict(hint.findall(text)) for lang, text in pages.items()}
    assert len(shown["en"]) > 90 and shown["en"].keys() == shown["zh-CN"].keys()
    section = re.compile(r'<code>\[([a-z_]+)\]</code></h2>\s*<p class="hint">([^<]*)</p>')
    for lang, hints in shown.items():
        texts = catalog(lang)
        for name, text in hints.items():
            assert html.unescape(text).startswith(texts[f"config-help.{name}"]), (lang, name)
        sections = section.findall(pages[lang])
        assert len(sections) > 10
        for name, text in sections:
            assert html.unescape(text) == texts[f"config-help.{name}"], (lang, name)
    assert "站点的 IANA 时区" in pages["zh-CN"] and "IANA time zone of the site" not in pages["zh-CN"]


def test_dashboard_counts_todays_punch_and_draws_it_in_the_hour_chart(site: TerminalSite) -> None:
    made = punch(site, "E1", minutes_ago=1)
    client, _ = signed_in(site)
    page = client.get("/admin/dashboard?lang=en").text
    assert re.search(r'id="punches-today">1<', page)
    hour = int(made.device_time[11:13])
    assert f'data-hour="{hour}" data-count="1"' in page
    assert 'data-state="' in page and "Clock sync" in page


def test_void_and_add_are_outbox_records_and_audited(site: TerminalSite) -> None:
    wrong = punch(site, "E2")
    client, csrf = signed_in(site)
    day = wrong.work_day
    voided = client.post("/admin/punches/void?lang=en", data={"csrf": csrf, "uid": wrong.uid, "day": day,
                                                                "reason": "a colleague's face, not E2"})
    assert voided.status_code == 303
    added = client.post("/admin/punches/add?lang=en", data={
        "csrf": csrf, "day": day, "employee_no": "E3", "direction": "in", "at": day + "T09:00",
        "reason": "camera was down"})
    assert added.status_code == 303
    rows = [r for r in outbox.pending(site.store, 10) if r.type == "punch-correction"]
    assert len(rows) == 2
    void_body = PunchCorrectionBody.model_validate(rows[0].body)
    assert (void_body.action, void_body.punch_uid, void_body.employee_no, void_body.admin) == (
        "void", wrong.uid, "E2", "admin")
    add_body = PunchCorrectionBody.model_validate(rows[1].body)
    assert (add_body.action, add_body.direction, add_body.employee_no) == ("add", "in", "E3")
    audit = site.store.conn.execute("SELECT action, actor, subject FROM audit_log WHERE action LIKE 'punch.%'"
                                    " ORDER BY id").fetchall()
    assert [(a, s) for a, _, s in audit] == [("punch.correction.void", "E2"), ("punch.correction.add", "E3")]
    page = client.get(f"/admin/punches?lang=en&day={day}").text
    assert "voided" in page and "camera was down" in page
    again = client.post("/admin/punches/void?lang=en", data={"csrf": csrf, "uid": wrong.uid, "day": day,
                                                              "reason": "twice"})
    assert again.status_code == 400 and "voided already" in again.text


def test_a_correction_without_a_reason_or_for_a_stranger_is_refused(site: TerminalSite) -> None:
    client, csrf = signed_in(site)
    day = punch(site, "E1").work_day
    for data, text in (({"employee_no": "E1", "reason": " "}, "Give a reason"),
                       ({"employee_no": "NOBODY", "reason": "x"}, "not known on this terminal")):
        refused = client.post("/admin/punches/add?lang=en", data={
            "csrf": csrf, "day": day, "direction": "out", "at": day + "T18:00", **data})
        assert refused.status_code == 400 and text in refused.text
    assert not [r for r in outbox.pending(site.store, 10) if r.type == "punch-correction"]


def test_a_viewer_sees_every_page_and_changes_nothing(site: TerminalSite) -> None:
    made = punch(site, "E1")
    client, csrf = signed_in(site, "audrey", VIEWER_PASSWORD)
    for path in GETS:
        page = client.get(f"{path}?lang=en")
        assert page.status_code == 200, path
        assert "viewer (read only)" in page.text
        assert 'type="submit" id="logout"' in page.text
        # no form that changes anything is offered (only the logout form, the search and the filter)
        actions = set(re.findall(r'<form method="post" action="([^"?]+)', page.text))
        assert actions == {"/admin/logout"}, (path, actions)
    config_before = site.config_path.read_bytes()
    outbox_before = outbox.backlog(site.store)
    posts = {
        "/admin/punches/void": {"uid": made.uid, "reason": "x"},
        "/admin/punches/add": {"employee_no": "E1", "direction": "in", "at": made.work_day + "T08:00", "reason": "x"},
        "/admin/settings": {"attendance.debounce_seconds": "5"},
        "/admin/diagnostics/relay": {}, "/admin/diagnostics/beep": {}, "/admin/diagnostics/camera": {},
        "/admin/enrol/consent": {"employee_no": "E9", "name": "New", "signed": "yes"},
        "/admin/enrol/E1/delete": {"confirm": "E1"}, "/admin/enrol/E1/withdraw": {"confirm_withdraw": "E1"},
        "/admin/enrol/E1/pin": {"pin": "1234", "pin_again": "1234"},
        "/admin/accounts/add": {"name": "mallory", "role": "admin", "password": "m" * 12, "repeat": "m" * 12},
        "/admin/accounts/remove": {"name": "audrey"},
    }
    # Every POST route of the admin panel, walked from the app itself (a new one cannot be forgotten).
    walked = {re.sub(r"\{employee_no\}", "E1", re.sub(r"\{(test|action)\}", "x", route.path))
              for route in site.app.routes if "POST" in getattr(route, "methods", ())
              and route.path.startswith("/admin/") and route.path not in ("/admin/login", "/admin/logout",
                                                                         "/admin/setup")}
    concrete = {re.sub(r"/(void|add|remove|relay|beep|camera)$", "/x", p) for p in posts}
    assert walked <= concrete | {"/admin/enrol/E1/photos", "/admin/enrol/E1/camera"}, walked - concrete
    for path in sorted(walked | set(posts)):
        refused = client.post(f"{path}?lang=en", data={"csrf": csrf, **posts.get(path, {})})
        assert refused.status_code == 403, path
        assert "can only view" in refused.text, path
    assert site.config_path.read_bytes() == config_before
    assert outbox.backlog(site.store) == outbox_before
    assert site.store.conn.execute("SELECT count(*) FROM audit_log WHERE actor LIKE 'panel:audrey%'").fetchone()[0] == 0
    assert site.store.conn.execute("SELECT count(*) FROM employees WHERE active = 1").fetchone()[0] == 3
    assert site.restarts == []


def test_relay_and_beep_drive_the_gpio_devices_and_are_audited(site: TerminalSite) -> None:
    client, csrf = signed_in(site)
    relay, buzzer = site.factory.pin(PINS["relay"]), site.factory.pin(PINS["buzzer"])
    relay.clear_states()
    buzzer.clear_states()
    assert client.post("/admin/diagnostics/relay?lang=en", data={"csrf": csrf}).status_code == 200
    assert client.post("/admin/diagnostics/beep?lang=en", data={"csrf": csrf}).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (relay.state is False and len(relay.states) >= 3):
        time.sleep(0.02)
    assert [bool(s.state) for s in relay.states][-2:] == [True, False]  # pulsed, then released
    assert any(bool(s.state) for s in buzzer.states)
    shot = client.post("/admin/diagnostics/camera?lang=en", data={"csrf": csrf})
    assert shot.status_code == 200 and 'src="data:image/jpeg;base64,' in shot.text
    actions = [r[0] for r in site.store.conn.execute("SELECT action FROM audit_log WHERE action LIKE 'diag%'")]
    assert actions == ["diagnostics.relay", "diagnostics.beep", "diagnostics.camera"]


def test_saving_settings_validates_then_restarts(site: TerminalSite) -> None:
    client, csrf = signed_in(site)
    assert 'name="camera.fps"' in client.get("/admin/settings?lang=en").text
    form = form_of(load_device_config(site.config_path))  # what the browser sends for the page as shown
    refused = client.post("/admin/settings?lang=en", data={"csrf": csrf, **form, "camera.fps": "0"})
    assert refused.status_code == 400 and "camera.fps" in refused.text and site.restarts == []
    saved = client.post("/admin/settings?lang=en", data={"csrf": csrf, **form, "attendance.debounce_seconds": "75"})
    assert saved.status_code == 200 and "attendance.debounce_seconds" in saved.text
    assert "debounce_seconds = 75" in site.config_path.read_text()
    deadline = time.monotonic() + 5
    while not site.restarts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.restarts == [1]
    detail = site.store.conn.execute("SELECT detail FROM audit_log WHERE action = 'settings.save'").fetchone()[0]
    assert json.loads(detail) == {"keys": ["attendance.debounce_seconds"]}


def test_first_run_admin_is_made_only_at_the_device(tmp_path: Path) -> None:
    built = build_terminal_site(tmp_path, password=None)
    try:
        lan = TestClient(built.app, follow_redirects=False, client=("192.168.1.20", 50000))
        page = lan.get("/admin/login?lang=en")
        assert "create-admin" not in page.text and "admin-password" in page.text
        assert lan.post("/admin/setup?lang=en", data={"password": "x" * 12, "repeat": "x" * 12}).status_code == 403
        local = TestClient(built.app, follow_redirects=False, client=("127.0.0.1", 50000))
        assert 'id="create-admin"' in local.get("/admin/login?lang=en").text
        short = local.post("/admin/setup?lang=en", data={"password": "short", "repeat": "short"})
        assert short.status_code == 400
        made = local.post("/admin/setup?lang=en", data={"password": PASSWORD, "repeat": PASSWORD})
        assert made.status_code == 303 and made.headers["location"].startswith("/admin/dashboard")
        again = local.post("/admin/setup?lang=en", data={"password": "y" * 12, "repeat": "y" * 12})
        assert again.status_code == 409
        assert lan.post("/admin/login?lang=en", data={"password": PASSWORD}).status_code == 303
    finally:
        built.close()


def test_the_admin_adds_a_viewer_who_can_then_sign_in(site: TerminalSite) -> None:
    client, csrf = signed_in(site)
    secret = "li si viewer pw"
    added = client.post("/admin/accounts/add?lang=en", data={"csrf": csrf, "name": "li.si", "role": "viewer",
                                                              "password": secret, "repeat": secret})
    assert added.status_code == 200 and 'data-account="li.si"' in added.text
    for data in ({"name": "admin", "role": "viewer"}, {"name": "Bad Name!", "role": "viewer"},
                 {"name": "x.y", "role": "root"}):
        refused = client.post("/admin/accounts/add?lang=en", data={"csrf": csrf, **data, "password": "p" * 12,
                                                                     "repeat": "p" * 12})
        assert refused.status_code == 400, data
    viewer, _ = signed_in(site, "li.si", secret)
    assert "viewer (read only)" in viewer.get("/admin/dashboard?lang=en").text
    removed = client.post("/admin/accounts/remove?lang=en", data={"csrf": csrf, "name": "li.si"})
    assert removed.status_code == 200 and 'data-account="li.si"' not in removed.text
    actions = [r[0] for r in site.store.conn.execute("SELECT action FROM audit_log WHERE action LIKE 'account.%'")]
    assert actions == ["account.add", "account.remove"]
