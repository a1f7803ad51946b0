"""The enrolment routes with TestClient over a real store and the real face pipeline: admin login, CSRF and
Origin checks, upload limits with per-image reasons, consent before enrolment, audited deletion."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.images import decode_image
from core.uploads import Limits
from device.attendance.enrolment import PURPOSE
from device.panel.admin_auth import MAX_FAILURES, verify_password
from device.panel.enrolment import consent_version
from tests.attendance.real_vision import celeb_identities, requires_vision
from tests.panel.site import PASSWORD, Site, bad_photos, build_site, good_photos

pytestmark = requires_vision


@pytest.fixture
def site(tmp_path: Path, vision: Any) -> Iterator[Site]:
    vision.gallery.remove("E7")
    built = build_site(tmp_path, vision, limits=Limits(max_file_bytes=3_000_000, max_files=8,
                                                       max_request_bytes=12_000_000))
    yield built
    built.store.close()


def templates(site: Site) -> int:
    return int(site.store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0])


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def logged_in(site: Site) -> tuple[TestClient, str]:
    client = TestClient(site.app, follow_redirects=False)
    response = client.post("/admin/login", data={"password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/enrol")
    page = client.get("/admin/enrol?lang=en")
    assert page.status_code == 200
    return client, csrf_of(page.text)


def consent(client: TestClient, csrf: str, no: str = "E7") -> None:
    response = client.post("/admin/enrol/consent?lang=en", data={
        "csrf": csrf, "employee_no": no, "name": "Person id00", "signed": "yes", "version": consent_version()})
    assert response.status_code == 303, response.text


def test_pages_need_an_admin_session_and_the_cookie_is_locked_down(site: Site) -> None:
    client = TestClient(site.app, follow_redirects=False)
    for path in ("/admin/enrol", "/admin/enrol/E7"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")
    upload = client.post("/admin/enrol/E7/photos", files=[("photos", ("a.jpg", good_photos()[0].read_bytes()))])
    assert upload.status_code == 303 and templates(site) == 0
    assert client.post("/admin/login", data={"password": "not the password"}).status_code == 401
    response = client.post("/admin/login", data={"password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    assert "secure" not in cookie  # plain HTTP on the LAN: a Secure cookie would never come back
    secure = TestClient(site.app, base_url="https://testserver", follow_redirects=False)
    assert "secure" in secure.post("/admin/login", data={"password": PASSWORD}).headers["set-cookie"].lower()
    # The password file holds a salted scrypt hash, not the password.
    stored = site.auth.password_file.read_text()
    assert PASSWORD not in stored and verify_password(stored, PASSWORD) and not verify_password(stored, "x" * 12)
    assert (site.auth.password_file.stat().st_mode & 0o777) == 0o600


def test_no_password_means_nobody_logs_in(tmp_path: Path, vision: Any) -> None:
    site = build_site(tmp_path, vision, password=None)
    try:
        client = TestClient(site.app, follow_redirects=False)
        page = client.get("/admin/login?lang=en")
        assert "edgehr device admin-password" in page.text and 'type="password"' not in page.text
        for guess in ("", "admin", "password", "edgehr"):
            assert client.post("/admin/login", data={"password": guess}).status_code == 401
    finally:
        site.store.close()


def test_wrong_passwords_are_throttled(site: Site) -> None:
    client = TestClient(site.app, follow_redirects=False)
    for _ in range(MAX_FAILURES):
        assert client.post("/admin/login", data={"password": "wrong guess!"}).status_code == 401
    refused = client.post("/admin/login?lang=en", data={"password": PASSWORD})
    assert refused.status_code == 429 and "Too many wrong passwords" in refused.text


def test_forms_need_the_session_csrf_token_and_same_origin(site: Site) -> None:
    client, csrf = logged_in(site)
    form = {"employee_no": "E7", "name": "Person", "signed": "yes", "version": consent_version()}
    assert client.post("/admin/enrol/consent", data=form).status_code == 403
    assert client.post("/admin/enrol/consent", data=form | {"csrf": "forged"}).status_code == 403
    cross = client.post("/admin/enrol/consent", data=form | {"csrf": csrf}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert client.post("/admin/login", data={"password": PASSWORD}, headers={"Origin": "http://evil.example"}
                       ).status_code == 403
    assert site.store.conn.execute("SELECT count(*) FROM consents").fetchone()[0] == 0
    # Consent needs the box ticked and the version the page showed.
    assert client.post("/admin/enrol/consent", data=form | {"csrf": csrf, "signed": ""}).status_code == 400
    assert client.post("/admin/enrol/consent", data=form | {"csrf": csrf, "version": "old"}).status_code == 400
    same = client.post("/admin/enrol/consent", data=form | {"csrf": csrf}, headers={"Origin": "http://testserver"})
    assert same.status_code == 303
    row = site.store.conn.execute(
        "SELECT subject_ref, purpose, text_version, recorded_by FROM consents").fetchone()
    assert row == ("E7", PURPOSE, consent_version(), "panel:admin@testclient")


def test_photos_need_consent_first(site: Site) -> None:
    client, csrf = logged_in(site)
    site.enroller.store.conn.execute(
        "INSERT INTO employees (employee_no, name, created_at, updated_at) VALUES ('E8', 'No consent', 'x', 'x')")
    page = client.get("/admin/enrol/E8?lang=en")
    assert 'id="upload"' not in page.text and "No consent on record" in page.text
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in good_photos()]
    response = client.post("/admin/enrol/E8/photos?lang=en", data={"csrf": csrf}, files=files)
    assert response.status_code == 400 and "no photo was processed" in response.text
    assert site.store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == 0


def test_upload_reports_each_photo_and_enforces_limits(site: Site) -> None:
    client, csrf = logged_in(site)
    consent(client, csrf)
    good = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in good_photos()[:3]]
    bad = [("photos", (name, data, "image/jpeg")) for name, data, _ in bad_photos()]
    huge = [("photos", ("huge.jpg", b"\xff\xd8" + b"\0" * 3_100_000, "image/jpeg"))]  # over the 3 MB file limit
    response = client.post("/admin/enrol/E7/photos?lang=en", data={"csrf": csrf}, files=good + bad + huge)
    assert response.status_code == 200, response.text
    reasons = dict(re.findall(r'data-name="([^"]+)" data-reason="([^"]*)"', response.text))
    assert reasons == {**{p.name: "" for p in good_photos()[:3]}, **{n: r for n, _, r in bad_photos()},
                       "huge.jpg": "too-large"}
    assert "Enrolled: 3 templates from 3 good images." in response.text
    assert "file too large" in response.text and "文件过大" in response.text  # both languages
    assert site.store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == 3
    # Limits on the request as a whole: too many files, too many bytes.
    many = [("photos", (f"{i}.jpg", b"x", "image/jpeg")) for i in range(9)]
    assert client.post("/admin/enrol/E7/photos", data={"csrf": csrf}, files=many).status_code == 400
    big = [("photos", (f"{i}.jpg", b"x" * 1_600_000, "image/jpeg")) for i in range(8)]
    refused = client.post("/admin/enrol/E7/photos?lang=en", data={"csrf": csrf}, files=big)
    assert refused.status_code == 413 and "larger than" in refused.text
    # A failed re-enrolment (only bad photos) keeps the templates that work.
    again = client.post("/admin/enrol/E7/photos?lang=zh-CN", data={"csrf": csrf}, files=bad)
    assert "未录入" in again.text and "<code>many-faces</code>" in again.text
    assert site.store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == 3
    # The roster lists names and counts, never an image.
    roster = client.get("/admin/enrol?lang=en").text
    assert 'data-employee="E7"' in roster and "<img" not in roster


def test_delete_needs_confirmation_and_is_audited(site: Site) -> None:
    client, csrf = logged_in(site)
    consent(client, csrf)
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in good_photos()]
    assert "Enrolled:" in client.post("/admin/enrol/E7/photos?lang=en", data={"csrf": csrf}, files=files).text
    gallery = site.enroller.gallery
    assert gallery is not None
    other = celeb_identities()["id00"][5]
    vector, _ = site.enroller.embedder.embed_image(decode_image(other.read_bytes(), other.name))
    assert vector is not None and gallery.search(vector).employee_no == "E7"
    wrong = client.post("/admin/enrol/E7/delete?lang=en", data={"csrf": csrf, "confirm": "E8", "reason": "left"})
    assert wrong.status_code == 400 and templates(site) == 4
    done = client.post("/admin/enrol/E7/delete?lang=en", data={"csrf": csrf, "confirm": "E7", "reason": "left"})
    assert done.status_code == 303 and done.headers["location"].startswith("/admin/enrol?deleted=E7")
    assert site.store.conn.execute("SELECT count(*) FROM face_templates").fetchone()[0] == 0
    actor, detail = site.store.conn.execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'face.delete' AND subject = 'E7'").fetchone()
    assert actor == "panel:admin@testclient" and json.loads(detail) == {"reason": "left", "templates": 4}
    assert gallery.search(vector).employee_no != "E7"  # the live gallery forgot them at once
    assert "Face templates of E7 were deleted." in client.get(done.headers["location"]).text
