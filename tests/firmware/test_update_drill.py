"""The A/B update drill: firmware_scripts/edgehr-update installs a release, switches, restarts, checks the
health page, and rolls back by itself when the new release's program exits 1.

Real processes throughout: the releases are installed by the script into a temporary /opt-like tree
(their own venv, checked by sha256), the "unit" is the release's own `edgehr` program started through
tests/firmware/fake_systemctl (no systemd runs here), and the health check is an HTTP GET.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet import release_signing

REPO = Path(__file__).resolve().parents[2]
UPDATE = REPO / "firmware_scripts" / "edgehr-update"
FAKE_SYSTEMCTL = Path(__file__).with_name("fake_systemctl")

GOOD_MAIN = '''\
import http.server, json, os, pathlib, sys

VERSION = (pathlib.Path(__file__).resolve().parents[2] / "VERSION").read_text().strip()


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"device_id": "drill-1", "ok": True, "problems": [], "version": VERSION}).encode()
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = http.server.HTTPServer(("127.0.0.1", int(os.environ["DRILL_PORT"])), Health)
    server.serve_forever()
'''

BROKEN_MAIN = '''\
import sys


def main():
    print("edgehr: error: this release is broken on purpose (update drill)", file=sys.stderr)
    return 1
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_release(folder: Path, version: str, main: str, signing_key: Path | None = None) -> Path:
    """A release as make-release lays it out: app/, wheels/, requirements.txt, VERSION, manifest.json, and
    with ``signing_key`` manifest.json.sig (as ``make-release --signing-key``)."""
    (folder / "app" / "cli").mkdir(parents=True)
    (folder / "app" / "cli" / "__init__.py").write_text("")
    (folder / "app" / "cli" / "main.py").write_text(main)
    (folder / "app" / "models" / "build").mkdir(parents=True)
    (folder / "app" / "models" / "build" / "face.onnx").write_bytes(b"model bytes of " + version.encode())
    (folder / "wheels").mkdir()
    (folder / "requirements.txt").write_text("# no dependencies in the drill's releases\n")
    (folder / "VERSION").write_text(version + "\n")
    files = {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in ("VERSION",)
    }
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    (folder / "manifest.json").write_text(json.dumps({"version": version, "python": py, "files": files}))
    if signing_key is not None:
        release_signing.sign(signing_key, folder)
    return folder


class Drill:
    def __init__(self, tmp: Path) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.prefix = tmp / "opt-edgehr"
        # The operator's release key, made here; the device trusts its public half.
        self.key, self.public_key = release_signing.keygen(tmp / "release-key")
        self.units = tmp / "units"
        self.units.mkdir()
        self.port = free_port()
        (self.units / "edgehr-device.service.cmd").write_text(
            f"DRILL_PORT={self.port} exec {self.prefix}/current/venv/bin/edgehr device run --config /dev/null\n"
        )
        self.env = {**os.environ, "EDGEHR_SYSTEMCTL": str(FAKE_SYSTEMCTL), "FAKE_SYSTEMCTL_DIR": str(self.units)}

    python = f"python{sys.version_info.major}.{sys.version_info.minor}"

    def update(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        argv = [str(UPDATE), args[0], "--prefix", str(self.prefix), "--python", self.python,
                "--health-url", f"http://127.0.0.1:{self.port}/api/health", "--health-timeout", "15", "--settle", "2",
                "--signing-key", str(self.public_key), "--units", "edgehr-device.service", *args[1:]]  # later win
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)

    def answering_version(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=5) as answer:
            return str(json.loads(answer.read())["version"])

    def link(self, name: str) -> str:
        return os.readlink(self.prefix / name)

    def stop(self) -> None:
        subprocess.run([str(FAKE_SYSTEMCTL), "stop", "edgehr-device.service"], env=self.env, timeout=60, check=False)


@pytest.fixture
def drill(tmp_path: Path) -> Iterator[Drill]:
    d = Drill(tmp_path)
    try:
        yield d
    finally:
        d.stop()


@pytest.mark.slow
def test_broken_release_rolls_back_by_itself(drill: Drill, tmp_path: Path) -> None:
    good = make_release(tmp_path / "r1", "1.0.0", GOOD_MAIN, drill.key)
    first = drill.update("apply", "--from", str(good))
    assert first.returncode == 0, first.stderr
    assert drill.link("current") == "releases/1.0.0"
    assert drill.answering_version() == "1.0.0"

    broken = make_release(tmp_path / "r2", "1.1.0", BROKEN_MAIN, drill.key)
    second = drill.update("apply", "--from", str(broken))
    assert second.returncode == 1, second.stdout + second.stderr  # 1 = failed, rolled back, healthy again
    assert "rolling back to 1.0.0" in second.stderr
    assert drill.link("current") == "releases/1.0.0"
    assert drill.link("previous") == "releases/1.1.0"
    assert drill.answering_version() == "1.0.0"  # the old release serves again, as a fresh process
    assert (drill.prefix / "releases" / "1.1.0" / ".failed").exists()
    status = json.loads((drill.prefix / "update-status.json").read_text())
    assert status["result"] == "rolled-back" and status["running"] == "1.0.0" and status["version"] == "1.1.0"
    # The broken program really ran and really exited 1.
    log = (drill.units / "edgehr-device.service.log").read_text()
    assert "broken on purpose" in log

    # A failed release is not retried by accident (a staged rollout re-sending it).
    again = drill.update("apply", "--from", str(broken))
    assert again.returncode == 2 and "--force" in again.stderr
    assert drill.link("current") == "releases/1.0.0"

    # The fixed release goes through; the previous one stays for the next rollback.
    fixed = make_release(tmp_path / "r3", "1.1.1", GOOD_MAIN, drill.key)
    third = drill.update("apply", "--from", str(fixed))
    assert third.returncode == 0, third.stderr
    assert drill.answering_version() == "1.1.1"
    assert drill.link("previous") == "releases/1.0.0"

    # And an operator's rollback goes back to it, checked the same way.
    back = drill.update("rollback")
    assert back.returncode == 0, back.stderr
    assert drill.answering_version() == "1.0.0"


def test_install_refuses_a_model_that_does_not_match_the_manifest(drill: Drill, tmp_path: Path) -> None:
    release = make_release(tmp_path / "r1", "2.0.0", GOOD_MAIN, drill.key)
    (release / "app" / "models" / "build" / "face.onnx").write_bytes(b"tampered")
    result = drill.update("install", "--from", str(release))
    assert result.returncode == 2
    assert "app/models/build/face.onnx does not match its sha256" in result.stderr
    assert not (drill.prefix / "releases" / "2.0.0").exists()
    assert not (drill.prefix / "current").exists()


def test_install_is_idempotent_and_verify_finds_a_changed_model(drill: Drill, tmp_path: Path) -> None:
    release = make_release(tmp_path / "r1", "3.0.0", GOOD_MAIN, drill.key)
    assert drill.update("install", "--from", str(release)).returncode == 0
    venv_python = drill.prefix / "releases" / "3.0.0" / "venv" / "bin" / "python"
    made = venv_python.lstat().st_mtime_ns
    again = drill.update("install", "--from", str(release))
    assert again.returncode == 0 and "installed already" in again.stderr
    assert venv_python.lstat().st_mtime_ns == made  # nothing was rebuilt
    assert drill.update("switch", "3.0.0").returncode == 0
    assert drill.update("verify").returncode == 0
    model = drill.prefix / "releases" / "3.0.0" / "app" / "models" / "build" / "face.onnx"
    model.chmod(0o644)
    model.write_bytes(b"bit rot")
    bad = drill.update("verify")
    assert bad.returncode == 2 and "face.onnx does not match its sha256" in bad.stderr


def test_apply_refuses_an_unsigned_or_wrongly_signed_release(drill: Drill, tmp_path: Path) -> None:
    unsigned = make_release(tmp_path / "r1", "4.0.0", GOOD_MAIN)
    result = drill.update("apply", "--from", str(unsigned))
    assert result.returncode == 2 and "unsigned release" in result.stderr
    stranger, _ = release_signing.keygen(tmp_path / "someone-else")
    forged = make_release(tmp_path / "r2", "4.0.1", GOOD_MAIN, stranger)
    result = drill.update("apply", "--from", str(forged))
    assert result.returncode == 2 and "not signed by the release key" in result.stderr
    # A signed manifest changed afterwards (a file's sha256 edited to match a swapped file): refused too.
    signed = make_release(tmp_path / "r3", "4.0.2", GOOD_MAIN, drill.key)
    manifest = json.loads((signed / "manifest.json").read_text())
    (signed / "app" / "cli" / "main.py").write_text(BROKEN_MAIN)
    manifest["files"]["app/cli/main.py"] = hashlib.sha256(BROKEN_MAIN.encode()).hexdigest()
    (signed / "manifest.json").write_text(json.dumps(manifest))
    result = drill.update("apply", "--from", str(signed))
    assert result.returncode == 2 and "not signed by the release key" in result.stderr
    assert not (drill.prefix / "releases" / "4.0.2").exists() and not (drill.prefix / "current").exists()
    # Without a signing key on the device, apply refuses everything unless told --allow-unsigned.
    result = drill.update("apply", "--from", str(unsigned), "--signing-key", str(tmp_path / "none.pub"))
    assert result.returncode == 2 and "no release signing key" in result.stderr
