"""README command (1) runs ``edgehr demo``: a whole site whose punches reach the server, each under the
right name, and which stops leaving nothing behind. The truth comes from the replay manifest and the
terminal's punch log (which frame decided each punch), never from the system's own opinion."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import child_pids

FRAMES_PER_IMAGE = 6  # drills/demo/site.py sets camera.frames_per_image to this for the replay


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def get(url: str, token: str | None = None, opener: Any = None) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with (opener or urllib.request.build_opener()).open(request, timeout=5) as response:  # loopback only
        return str(response.read().decode())


class Demo:
    def __init__(self, state: Path, seconds: float | None) -> None:
        self.state = state
        self.panel, self.server = free_port(), free_port()
        argv = [sys.executable, "-m", "cli.main", "demo", "--state", str(state),
                "--port", str(self.panel), "--server-port", str(self.server)]
        if seconds is not None:
            argv += ["--seconds", str(seconds)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.spawned: set[int] = set()

    def wait_until(self, check: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.spawned |= child_pids(self.proc.pid)
            assert self.proc.poll() is None, f"demo exited early while waiting for {what}"
            try:
                result = check()
            except OSError:
                result = None
            if result:
                return result
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}")

    def finish(self, timeout: float) -> str:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return out

    @property
    def token(self) -> str:
        return str(json.loads((self.state / "site.json").read_text())["token"])


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("demo") / "state"


def server_punches(state: Path) -> list[dict[str, Any]]:
    db = state / "site" / "server" / "hr.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT uid, employee_no, device_id FROM punches")]


def device_rows(state: Path) -> tuple[set[str], set[str]]:
    """(all punch uids on the device, uids whose outbox row the server acknowledged)."""
    db = state / "site" / "devices" / "demo-gate-1" / "device.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        punched = {r[0] for r in conn.execute("SELECT uid FROM punches")}
        # Punch rows only: the outbox carries the terminal's enrolment records too.
        delivered = {r[0] for r in conn.execute(
            "SELECT ref FROM outbox WHERE type = 'punch' AND delivered_at_ms IS NOT NULL")}
    return punched, delivered


def punch_log(state: Path) -> list[tuple[int, str]]:
    """(camera frame index, employee_no) of every punch the terminal logged."""
    found = []
    for line in (state / "logs" / "terminal.log").read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("msg") == "punch frame":
                found.append((int(entry["frame"]), str(entry["employee_no"])))
    return found


def test_demo_site_punches_reach_the_server_under_the_right_names(state: Path) -> None:
    demo = Demo(state, seconds=150)
    try:
        # The first run enrols from the shared photos; then punches must reach the server within 60 s.
        demo.wait_until(lambda: "Device health" in get(f"http://127.0.0.1:{demo.panel}/health?lang=en"), 400,
                        "the terminal's health page")
        api = f"http://127.0.0.1:{demo.server}/api/punches"
        rows = demo.wait_until(lambda: json.loads(get(api, demo.token))["punches"], 60, "punches on the server")
        assert rows
        # Both sides serve Prometheus metrics (the terminal to this machine, the server to an admin token).
        device_metrics = get(f"http://127.0.0.1:{demo.panel}/metrics")
        assert "edgehr_device_punches_total" in device_metrics
        assert "edgehr_device_decision_seconds_bucket" in device_metrics
        assert 'edgehr_server_records_stored_total{type="punch"}' in get(f"http://127.0.0.1:{demo.server}/api/metrics",
                                                                           demo.token)
        # The HR page lists today's punches per person, behind a token login.
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login = urllib.parse.urlencode({"token": demo.token}).encode()
        opener.open(f"http://127.0.0.1:{demo.server}/login", data=login, timeout=5).read()
        page = get(f"http://127.0.0.1:{demo.server}/?lang=en", opener=opener)
        people = json.loads((state / "people.json").read_text())
        names = {p["employee_no"]: p["name"] for p in people["people"]}
        assert any(names[r["employee_no"]] in page for r in rows)
        # The terminal's admin panel opens with the account the demo made (random, kept 0600 in site.json).
        info = json.loads((state / "site.json").read_text())
        assert (state / "site.json").stat().st_mode & 0o077 == 0 and len(info["panel_password"]) >= 10
        panel = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        signed = urllib.parse.urlencode({"user": "admin", "password": info["panel_password"]}).encode()
        dashboard = panel.open(f"http://127.0.0.1:{demo.panel}/admin/login?lang=en", data=signed, timeout=10).read()
        assert b'id="dashboard"' in dashboard
        out = demo.finish(timeout=240)
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait()
    assert demo.proc.returncode == 0, out
    assert "edgehr demo site stopped" in out
    # The demo booth's candidate answered from recordings; the session reached HR's interview report.
    assert "interview booth: session s-" in out and "is in HR's interview report" in out, out
    (state / "first-run-output.txt").write_text(out)  # read by the per-appearance tests below

    # Every punch is under the identity of the person whose photo was on the camera at that frame.
    manifest = json.loads((state / "replay-manifest.json").read_text())
    logged = punch_log(state)
    assert logged, "the terminal logged no punch"
    for frame, employee_no in logged:
        shown = manifest[(frame // FRAMES_PER_IMAGE) % len(manifest)]
        assert shown["kind"] == "employee" and shown["employee_no"] == employee_no, (frame, employee_no, shown)

    # Nothing lost between the device's outbox and the server; nothing for strangers.
    stored = server_punches(state)
    punched, delivered = device_rows(state)
    server_uids = {r["uid"] for r in stored}
    assert delivered <= server_uids <= punched
    assert len(server_uids) == len(stored)
    assert {r["employee_no"] for r in stored} <= set(names)
    assert not [pid for pid in demo.spawned if alive(pid)], "demo left processes behind"
    assert f"password {info['panel_password']}" in out

    # "clock unsynchronised" means what the machine's real signal says (core.clock_sync), not "always".
    from core.clock_sync import read_clock_sync

    db = state / "site" / "devices" / "demo-gate-1" / "device.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        flags = {bool(r[0]) for r in conn.execute("SELECT clock_synced FROM punches")}
    assert flags == {read_clock_sync().state == "yes"}


def test_second_run_reuses_state_and_stops_cleanly_on_ctrl_c(state: Path) -> None:
    if not (state / "site.json").exists():
        pytest.skip("needs the first demo test's state")
    consents_before = _count(state, "consents")
    demo = Demo(state, seconds=None)
    try:
        demo.wait_until(lambda: "Device health" in get(f"http://127.0.0.1:{demo.panel}/health?lang=en"), 120,
                        "the terminal's health page")
        demo.spawned |= child_pids(demo.proc.pid)
        demo.proc.send_signal(signal.SIGINT)
        out = demo.finish(timeout=60)
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait()
    assert demo.proc.returncode == 0, out
    assert "First run" not in out
    assert _count(state, "consents") == consents_before  # nobody enrolled twice
    assert not [pid for pid in demo.spawned if alive(pid)], "demo left processes behind"


def _count(state: Path, table: str) -> int:
    db = state / "site" / "devices" / "demo-gate-1" / "device.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _appearances(state: Path) -> Any:
    """Per-appearance outcomes recomputed here from the truth (manifest) and the terminal's decision log."""
    from drills.demo.appearances import read_decisions, tally
    from drills.demo.replay import load_manifest

    manifest = load_manifest(state / "replay-manifest.json")
    decisions, _ = read_decisions(state / "logs" / "terminal.log")
    last = max((int(d["frame"]) for d in decisions), default=0)
    return tally(manifest, decisions, last - last % FRAMES_PER_IMAGE, FRAMES_PER_IMAGE)


def test_demo_counts_outcomes_per_appearance_and_lets_nobody_else_in(state: Path) -> None:
    if not (state / "first-run-output.txt").exists():
        pytest.skip("needs the first demo test's run")
    out = (state / "first-run-output.txt").read_text()
    assert "appearances: recognised" in out  # the live line shows outcomes per appearance
    shown = json.loads(next(line for line in out.splitlines() if line.startswith("appearances {"))[12:])
    assert set(shown) == {"genuine", "strangers", "attacks"}
    counted = _appearances(state)
    assert sum(counted.genuine.values()) > 0 and sum(counted.attacks.values()) > 0
    assert counted.genuine["wrong-person"] == 0
    assert counted.attacks["accepted"] == 0 and counted.strangers["accepted"] == 0


# Known gap (issue 21), measured on this demo's replay: 24 of 122 genuine appearances rejected (18 liveness:
# MiniFAS under 0.9 on three of the 21 photos; 6 margin: a look-alike, now told to use badge or number).
# strict: the day the figure is met this XPASSes and fails, and the mark must come off.
@pytest.mark.xfail(strict=True, reason="genuine rejects above GENUINE_REJECT_TARGET: MiniFAS and the margin (issue 21)")
def test_demo_genuine_appearances_are_rejected_no_more_often_than_the_target(state: Path) -> None:
    from drills.demo.appearances import GENUINE_REJECT_TARGET

    if not (state / "first-run-output.txt").exists():
        pytest.skip("needs the first demo test's run")
    counted = _appearances(state)
    genuine = sum(counted.genuine.values())
    assert counted.genuine_rejected() <= GENUINE_REJECT_TARGET * genuine, counted.as_dict()
