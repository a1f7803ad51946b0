"""The kiosk PIN (1:1 mode) on the terminal's enrolment page: set by typing it twice, kept only as a hash,
audited without the PIN, cleared; TestClient over a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from device.store.pins import pin_hash
from tests.attendance.real_vision import requires_vision
from tests.panel.site import Site, build_site
from tests.panel.test_enrol_routes import consent, logged_in
from tests.panel.test_withdraw_routes import audits

pytestmark = requires_vision

PIN = "246810"


@pytest.fixture
def site(tmp_path: Path, vision: Any) -> Iterator[Site]:
    built = build_site(tmp_path, vision)
    yield built
    built.store.close()


def test_a_pin_is_typed_twice_kept_as_a_hash_audited_without_it_and_cleared(site: Site) -> None:
    client, csrf = logged_in(site)
    consent(client, csrf, "E7")
    page = client.get("/admin/enrol/E7?lang=en")
    assert 'id="pin-status"' in page.text and "No PIN is set." in page.text and 'id="clear-pin"' not in page.text
    assert "打卡 PIN 码" in client.get("/admin/enrol/E7?lang=zh-CN").text

    def post(**fields: str) -> Any:
        return client.post("/admin/enrol/E7/pin?lang=en", data={"csrf": csrf, "action": "set", **fields})

    differ = post(pin=PIN, pin_again="246811")
    assert differ.status_code == 400 and "The two PINs differ" in differ.text
    letters = post(pin="12a4", pin_again="12a4")
    assert letters.status_code == 400 and "4 to 8 digits" in letters.text
    assert client.post("/admin/enrol/E7/pin?lang=en", data={"action": "set", "pin": PIN, "pin_again": PIN}
                       ).status_code == 403  # no CSRF token
    assert pin_hash(site.store, "E7") is None

    done = post(pin=PIN, pin_again=PIN)
    assert done.status_code == 303 and "pin-set=1" in done.headers["location"]
    page = client.get(done.headers["location"])
    assert "The PIN was set." in page.text and "A PIN is set" in page.text and PIN not in page.text
    stored = pin_hash(site.store, "E7")
    assert stored is not None and stored.matches(PIN) and not stored.matches("246811")
    assert [(actor, subject) for actor, subject, _ in audits(site, "pin.set")] == [("panel:admin@testclient", "E7")]
    dump = site.store.conn.execute("SELECT group_concat(coalesce(detail, ''), ' ') FROM audit_log").fetchone()[0]
    assert PIN not in (dump or "")

    cleared = client.post("/admin/enrol/E7/pin?lang=en", data={"csrf": csrf, "action": "clear"})
    assert cleared.status_code == 303 and "pin-cleared=1" in cleared.headers["location"]
    assert "The PIN was removed." in client.get(cleared.headers["location"]).text
    assert pin_hash(site.store, "E7") is None
    assert [subject for _, subject, _ in audits(site, "pin.clear")] == ["E7"]
    assert client.post("/admin/enrol/NOBODY/pin?lang=en",
                       data={"csrf": csrf, "pin": PIN, "pin_again": PIN}).status_code == 404
