"""Consent withdrawal and the punch snapshot viewer on the enrolment page, with TestClient over a real store,
data key, encrypted snapshots and the REAL face pipeline (enrolment from photos, the live gallery)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from device.store.punches import Punch, record_punch
from tests.attendance.real_vision import CELEB, requires_vision
from tests.factories import punch
from tests.panel.site import Site, build_site, good_photos
from tests.panel.test_enrol_routes import consent, logged_in, templates

pytestmark = requires_vision


@pytest.fixture
def site(tmp_path: Path, vision: Any) -> Iterator[Site]:
    for no in ("E7", "E8"):
        vision.gallery.remove(no)
    built = build_site(tmp_path, vision, with_snapshots=True)
    yield built
    built.store.close()


def enrol(client: TestClient, csrf: str, no: str) -> None:
    consent(client, csrf, no)
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in good_photos()]
    response = client.post(f"/admin/enrol/{no}/photos?lang=en", data={"csrf": csrf}, files=files)
    assert response.status_code == 200 and "Enrolled:" in response.text


def snapshot_punch(site: Site, no: str, at_ms: int) -> tuple[Punch, Path]:
    assert site.snapshots is not None
    image = cv2.imread(str(CELEB / "img1.jpg"), cv2.IMREAD_COLOR)
    stored = record_punch(site.store, punch(no, "in", at_ms), "gate-1")
    return stored, site.snapshots.keep(stored, np.ascontiguousarray(image), (60.0, 50.0, 90.0, 110.0))


def audits(site: Site, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    rows = site.store.conn.execute(
        "SELECT actor, subject, detail FROM audit_log WHERE action = ? ORDER BY id", (action,)).fetchall()
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


def test_snapshots_are_listed_and_each_view_is_decrypted_uncached_and_audited(site: Site, vision: Any) -> None:
    client, csrf = logged_in(site)
    consent(client, csrf, "E7")
    consent(client, csrf, "E8")
    first, first_file = snapshot_punch(site, "E7", 1_790_000_000_000)
    second, _ = snapshot_punch(site, "E7", 1_790_000_600_000)
    others, _ = snapshot_punch(site, "E8", 1_790_000_000_000)
    record_punch(site.store, punch("E7", "out", 1_790_001_000_000), "gate-1")  # no snapshot: not listed

    page = client.get("/admin/enrol/E7?lang=en")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'id="snapshots"' in page.text and "every view is recorded in the audit log" in page.text
    listed = [int(part.split('"')[0]) for part in page.text.split('class="snapshot" data-punch="')[1:]]
    assert listed == [second.id, first.id]  # newest first, only punches with a snapshot
    assert f"/admin/enrol/E7/snapshots/{first.id}" in page.text
    assert "打卡快照" in client.get("/admin/enrol/E7?lang=zh-CN").text
    assert audits(site, "snapshot.view") == []  # listing shows no image and is not a view

    shown = client.get(f"/admin/enrol/E7/snapshots/{first.id}?lang=en")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["cache-control"] == "no-store" and shown.headers["x-content-type-options"] == "nosniff"
    assert shown.content.startswith(b"\xff\xd8") and cv2.imdecode(np.frombuffer(shown.content, np.uint8), 1) is not None
    assert not first_file.read_bytes().startswith(b"\xff\xd8")  # still only ciphertext on disk
    assert not [p for p in first_file.parent.iterdir() if p.read_bytes().startswith(b"\xff\xd8")]
    assert audits(site, "snapshot.view") == [("panel:admin@testclient", "E7", {"punch_uid": first.uid})]

    # Another employee's punch through this employee's page, an unknown punch, no session: nothing shown.
    assert client.get(f"/admin/enrol/E7/snapshots/{others.id}?lang=en").status_code == 404
    missing = client.get("/admin/enrol/E7/snapshots/99999?lang=zh-CN")
    assert missing.status_code == 404 and "此打卡没有快照" in missing.text
    anonymous = TestClient(site.app, follow_redirects=False).get(f"/admin/enrol/E7/snapshots/{first.id}")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")
    assert len(audits(site, "snapshot.view")) == 1
    # A damaged file is refused, not shown.
    first_file.write_bytes(b"\0" * 64)
    damaged = client.get(f"/admin/enrol/E7/snapshots/{first.id}?lang=en")
    assert damaged.status_code == 409 and "integrity check" in damaged.text


def test_withdrawal_needs_the_number_typed_then_deletes_face_data_and_refuses_enrolment(
    site: Site, vision: Any
) -> None:
    client, csrf = logged_in(site)
    enrol(client, csrf, "E7")
    assert templates(site) > 0 and "E7" in vision.gallery
    stored, snap_file = snapshot_punch(site, "E7", 1_790_000_000_000)

    page = client.get("/admin/enrol/E7?lang=en")
    assert 'id="withdraw-consent"' in page.text
    wrong = client.post("/admin/enrol/E7/withdraw?lang=en", data={"csrf": csrf, "confirm_withdraw": "E8"})
    assert wrong.status_code == 400 and "nothing was withdrawn" in wrong.text
    forged = client.post("/admin/enrol/E7/withdraw?lang=en", data={"csrf": "forged", "confirm_withdraw": "E7"})
    assert forged.status_code == 403
    assert templates(site) > 0 and snap_file.exists() and audits(site, "consent.withdraw") == []

    done = client.post("/admin/enrol/E7/withdraw?lang=en", data={"csrf": csrf, "confirm_withdraw": "E7"})
    assert done.status_code == 303 and done.headers["location"] == "/admin/enrol/E7?withdrawn=1&lang=en"
    assert templates(site) == 0 and not snap_file.exists() and "E7" not in vision.gallery
    assert [(a, s) for a, s, _ in audits(site, "consent.withdraw")] == [("panel:admin@testclient", "E7")]
    after = client.get(done.headers["location"])
    assert "Consent withdrawn" in after.text and 'id="record-consent"' in after.text
    assert 'id="withdraw-consent"' not in after.text and 'data-withdrawn="yes"' in after.text
    assert 'id="no-snapshots"' in after.text
    assert client.get(f"/admin/enrol/E7/snapshots/{stored.id}").status_code == 404
    # Enrolment is refused until consent is recorded again: the photos are not even processed.
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in good_photos()]
    refused = client.post("/admin/enrol/E7/photos?lang=zh-CN", data={"csrf": csrf}, files=files)
    assert refused.status_code == 400 and "未处理任何照片" in refused.text and templates(site) == 0
    # Withdrawing twice says there is nothing to withdraw (zh-CN).
    twice = client.post("/admin/enrol/E7/withdraw?lang=zh-CN", data={"csrf": csrf, "confirm_withdraw": "E7"})
    assert twice.status_code == 409 and "无可撤回" in twice.text
    # Consent recorded again: enrolment works again.
    enrol(client, csrf, "E7")
    assert templates(site) > 0 and "E7" in vision.gallery
