"""Enrolment from the kiosk camera through the panel: a running terminal (real pipeline, folder camera
replaying photos through the camera interface the hardware uses) lends frames; each gets a verdict."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from device.attendance.enrolment import REJECT_REASONS
from device.config.device import DeviceConfig
from device.panel.admin_auth import password_path, write_password
from device.runner import open_terminal
from tests.attendance.real_vision import recognition_settings, requires_vision
from tests.panel.site import PASSWORD, good_photos

pytestmark = requires_vision


def test_capture_from_the_kiosk_camera_reports_every_frame(tmp_path: Path) -> None:
    frames = tmp_path / "camera"
    frames.mkdir()
    for photo in good_photos():  # copies in the test's own folder: the replayed "person at the terminal"
        shutil.copy(photo, frames / photo.name)
    config = DeviceConfig.model_validate({
        "device": {"id": "gate-1", "state_dir": str(tmp_path / "state"), "language": "en"},
        "camera": {"source": "folder", "path": str(frames), "frames_per_image": 3, "loop": True},
        "gpio": {"pin_factory": "mock"},
        "enrolment": {"min_good_images": 3, "max_templates": 5},
        "recognition": recognition_settings(),
    })
    write_password(password_path(config.device.state_dir), PASSWORD)
    terminal = open_terminal(config, paced_replay=False)
    try:
        terminal.enroller.record_consent("E9", "Person id00", text_version="v1", recorded_by="test")
        terminal.start(panel=False)
        client = TestClient(terminal.app(), follow_redirects=False)
        assert client.post("/admin/login", data={"password": PASSWORD}).status_code == 303
        page = client.get("/admin/enrol/E9?lang=en").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf and 'id="capture"' in page
        response = client.post("/admin/enrol/E9/camera?lang=en", data={"csrf": csrf.group(1)})
        assert response.status_code == 200, response.text
        rows = re.findall(r'data-name="(camera-\d+)" data-reason="([^"]*)"', response.text)
        assert [name for name, _ in rows] == [f"camera-{i}" for i in range(1, 31)]  # 30 frames, in order
        assert all(reason in ("", *REJECT_REASONS) for _, reason in rows)
        good = sum(1 for _, reason in rows if reason == "")
        stored = terminal.store.conn.execute("SELECT count(*), min(source) FROM face_templates").fetchone()
        if good >= 3:
            assert "Enrolled: " in response.text and stored == (min(good, 5), "camera")
        else:
            assert "Not enrolled" in response.text and stored[0] == 0
        assert good >= 3, f"live frames of a real person were refused: {rows}"
        # The kiosk loop got its camera back and goes on analysing frames.
        before = terminal.kiosk.counters().frames
        terminal.stop_event.wait(0.5)
        assert terminal.kiosk.counters().frames > before
    finally:
        terminal.stop()
