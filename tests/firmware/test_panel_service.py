"""The panel as a service of its own (``edgehr device run --only panel``, edgehr-panel.service) beside the kiosk
(``--only kiosk``): two real processes sharing the SQLite database and the kiosk's live socket, with a folder
camera replaying a recorded LFW photo, the real face pipeline and gpiozero's MockFactory pins.

Through the panel process only: enrol the person at the camera (frames borrowed across processes), claim
their number on the kiosk page's keypad route (1:1), see the kiosk punch them (banner on /kiosk/state, the
punch on the admin dashboard); kill the kiosk process, see the panel degrade, start it again and recover.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect, sync_playwright

from core.clock import SystemClock
from core.datakey import load_or_create
from device.attendance.enrolment import Enroller
from device.config.device import EnrolmentSection
from device.panel.admin_auth import password_path, write_password
from device.panel.live import DOWN_STATUS
from device.panel.live_socket import socket_path
from device.panel.panel_process import KIOSK_DOWN
from device.store import open_store
from drills.chaos_site import python_argv, python_env, wait_for
from fleet.broker import free_port
from tests.attendance.real_vision import LFW, recognition_settings, requires_vision
from tests.e2e.test_enrol_page import ARGS, CHROMIUM
from tests.firmware.test_split_services import from_main

pytestmark = [requires_vision, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")]

PASSWORD = "correct horse battery"  # set by the test itself: the repository holds no password
PERSON = "Aaron_Peirsol"  # his fourth LFW photo passes the quality gate and liveness (test_kiosk_one_to_one_real)


def write_config(tmp_path: Path, port: int) -> Path:
    replay = tmp_path / "replay"
    replay.mkdir()
    shutil.copy(sorted((LFW / PERSON).glob("*.jpg"))[3], replay / "0001-person.jpg")
    PILImage.fromarray(np.full((250, 250, 3), 128, np.uint8)).save(replay / "0002-empty.png")
    threshold = "".join(f"{k} = {v}\n" for k, v in recognition_settings().items())
    path = tmp_path / "device.toml"
    path.write_text(f"""
[device]
id = "gate-1"
name = "Gate 1"
state_dir = "{tmp_path / 'state'}"
language = "en"

[camera]
source = "folder"
path = "{replay}"
fps = 15
loop = true

[gpio]
pin_factory = "mock"

[enrolment]
min_good_images = 2

[recognition]
mode = "1:1"
{threshold}
[claim]
timeout_seconds = 120
max_failures = 50

[kiosk]
banner_seconds = 30

[panel]
host = "127.0.0.1"
port = {port}
""")
    return path


@contextmanager
def process(config: Path, only: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(python_argv("cli.main", "device", "run", "--only", only, "--config", str(config)),
                             env={**os.environ, **python_env(), **env}, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        child.communicate(timeout=60)


def record_consent(state: Path, employee_no: str, name: str) -> None:
    """As the roster page does (the consent record only; the face comes later, from the camera)."""
    store = open_store(state / "device.db")
    try:
        enroller = Enroller(store=store, key=load_or_create(state / "keys" / "data.key", sealed_rows=store.sealed_rows),
                            embedder=None, model="none", clock=SystemClock(assume_synced=True),  # type: ignore[arg-type]
                            settings=EnrolmentSection())
        enroller.record_consent(employee_no, name, text_version="v1", recorded_by="test")
    finally:
        store.close()


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def test_the_panel_runs_alone_and_reads_the_kiosk_over_its_socket(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    state = tmp_path / "state"
    write_password(password_path(state), PASSWORD)
    record_consent(state, "1001", "Aaron Peirsol")
    notify = tmp_path / "notify"
    url = f"http://127.0.0.1:{port}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sd, process(config, "kiosk") as kiosk:
        sd.bind(str(notify))
        sd.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sd.settimeout(120)
        with process(config, "panel", NOTIFY_SOCKET=str(notify), WATCHDOG_USEC="2000000") as panel, \
                httpx.Client(base_url=url, timeout=60, follow_redirects=False) as client:
            beats = from_main(sd, panel.pid, 3)
            assert beats[0].startswith(b"READY=1") and beats[1:] == [b"WATCHDOG=1"] * 2
            wait_for(lambda: socket_path(state).exists(), "the kiosk's live socket", timeout=120)
            assert socket_path(state).stat().st_mode & 0o777 == 0o600
            wait_for(lambda: client.get("/kiosk/state").json()["status"] == "running", "the kiosk running", 60)
            assert 'id="keypad"' in client.get("/kiosk").text or "keypad" in client.get("/kiosk").text

            assert client.post("/admin/login", data={"password": PASSWORD}).status_code == 303
            consent_page = client.get("/admin/enrol/1001?lang=en").text
            enrolled = client.post("/admin/enrol/1001/camera?lang=en", data={"csrf": csrf(consent_page)})
            assert enrolled.status_code == 200, enrolled.text[:2000]
            rows = re.findall(r'data-name="(camera-\d+)" data-reason="([^"]*)"', enrolled.text)
            assert len(rows) == 30 and "Enrolled: " in enrolled.text  # 30 frames crossed from the kiosk

            # A claim reaches the kiosk loop once its gallery has picked the new templates up from SQLite
            # (refused "not-enrolled" until then); cancelled again across the socket.
            def claimed() -> bool:
                answer = client.post("/kiosk/claim", json={"employee_no": "1001", "pin": None})
                return answer.status_code == 200 and answer.json()["kind"] == "claimed"

            wait_for(claimed, "a claim the kiosk accepts", timeout=30, interval=0.5)
            assert client.post("/kiosk/claim/cancel", json={}).json()["cancelled"] is True
            assert client.get("/kiosk/state").json()["claim"]["pending"] is None
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    page = browser.new_page(viewport={"width": 800, "height": 480})
                    page.goto(f"{url}/kiosk?lang=en")
                    for key in "1001":  # typed on the kiosk page the panel process serves
                        page.locator(f'#keypad-keys button[data-key="{key}"]').click()
                    page.locator("#key-ok").click()
                    expect(page.locator("#banner")).to_be_visible(timeout=60_000)  # the kiosk punched them
                    expect(page.locator("#banner")).to_have_class("banner ok")
                    expect(page.locator("#banner-name")).to_contain_text("Aaron Peirsol")
                    page.screenshot(path=tmp_path / "kiosk-banner.png")
                    assert client.get("/kiosk/state").json()["banner"]["kind"] == "punched"
                    assert client.get("/kiosk/metrics").json()["punches"] == 1
                    kiosk.send_signal(signal.SIGKILL)
                    kiosk.wait(timeout=30)
                    expect(page.locator("#notice")).to_contain_text("This terminal is not working", timeout=30_000)
                    page.screenshot(path=tmp_path / "kiosk-down.png")
                finally:
                    browser.close()
            dashboard = client.get("/admin/dashboard?lang=en").text
            assert re.search(r'id="punches-today">1<', dashboard), dashboard[:2000]
            assert client.get("/kiosk/state").json()["status"] == DOWN_STATUS
            refused = client.post("/kiosk/claim", json={"employee_no": "1001", "pin": None})
            assert refused.status_code == 400 and refused.json()["code"] == "kiosk-down"
            page = client.get("/admin/enrol/1001?lang=en").text
            down = client.post("/admin/enrol/1001/camera?lang=en", data={"csrf": csrf(page)})
            assert down.status_code == 503 and "kiosk process is not running" in down.text
            assert re.search(r'id="punches-today">1<', client.get("/admin/dashboard?lang=en").text)
            health = client.get("/api/health")
            assert health.status_code == 503 and KIOSK_DOWN in health.json()["problems"]

            with process(config, "kiosk"):
                wait_for(lambda: client.get("/kiosk/state").json()["status"] == "running", "the kiosk back", 120)
                assert KIOSK_DOWN not in client.get("/api/health").json()["problems"]
            assert panel.poll() is None  # the panel lived through both
        assert panel.returncode == 0
