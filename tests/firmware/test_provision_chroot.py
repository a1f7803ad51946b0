"""firmware_scripts/provision.sh in a Debian Bookworm root built by debootstrap (tests/firmware/bookworm.py):
it runs to completion from a release made by make-release, lays out users, folders, modes, units and
keys as documented, its installed units pass `systemd-analyze verify` with the real programs, and a
second run changes nothing. No Raspberry Pi and no running systemd here: the script says which steps it
skipped and why, and the test checks that it said so."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.paths import models_build_dir
from fleet import release_signing
from tests.firmware.bookworm import cache_dir, chroot_copy
from tests.firmware.tools import require

REPO = Path(__file__).resolve().parents[2]
ENV = ["/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
       "LANG=C.UTF-8"]


def wheelhouse() -> Path:
    """Dependency wheels for this Python, kept between runs (keyed by the dependency list)."""
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256(("\n".join(deps) + sys.version).encode()).hexdigest()[:16]
    folder = cache_dir() / f"wheelhouse-{key}"
    if not (folder / ".complete").exists():
        folder.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(folder), *deps],
                       check=True, timeout=1800)
        (folder / ".complete").touch()
    return folder


def run(root: Path, *argv: str, timeout: float = 3000) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chroot", str(root), *ENV, *argv], capture_output=True, text=True, timeout=timeout,
                          check=False)


def mode_owner(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid


@pytest.mark.slow
def test_provision_a_terminal_in_a_bookworm_root(tmp_path: Path) -> None:
    require("chroot")
    analyze = require("systemd-analyze")
    release = tmp_path / "release"
    key, _ = release_signing.keygen(tmp_path / "operator-key")  # the operator's, never in the repository
    made = subprocess.run(
        [str(REPO / "firmware_scripts" / "make-release"), "--out", str(release), "--python", sys.executable,
         "--models", str(models_build_dir()), "--wheelhouse", str(wheelhouse()), "--signing-key", str(key)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert made.returncode == 0, made.stderr
    release_signing.verify_release(key.with_suffix(".pub"), release)  # signed by make-release
    root_dir = tmp_path / "root"
    root_dir.mkdir()
    try:
        provision_and_check(root_dir, release, analyze)
    finally:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        if not any(line.split()[1].startswith(str(root_dir)) for line in mounts):
            shutil.rmtree(root_dir, ignore_errors=True)  # about 1 GB; nothing of it is mounted any more


def provision_and_check(root_dir: Path, release: Path, analyze: str) -> None:
    with chroot_copy(root_dir) as root:
        subprocess.run(["cp", "-a", str(REPO / "firmware_scripts"), str(root / "root/fw")], check=True, timeout=60)
        subprocess.run(["cp", "-a", str(release), str(root / "root/release")], check=True, timeout=300)
        public = next(release.parent.glob("operator-key/*.pub"))
        subprocess.run(["cp", str(public), str(root / "root/release-signing.pub")], check=True, timeout=60)
        argv = ["bash", "/root/fw/provision.sh", "--role", "terminal", "--release", "/root/release",
                "--device-id", "site1-gate-a", "--ntp", "ntp.example.internal",
                "--signing-key", "/root/release-signing.pub"]
        first = run(root, *argv)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        out = first.stdout

        # Honest about what a chroot cannot do.
        assert "skipped  starting services and systemd-analyze verify: systemd is not running here" in out
        assert "skipped  time-sync and watchdog checks: systemd is not running here" in out
        assert "skipped  python3-picamera2: not in this system's package archives (Raspberry Pi OS only)" in out
        assert "skipped  camera and watchdog firmware settings: no /boot/firmware/config.txt" in out

        # Users, folders and modes.
        passwd = (root / "etc/passwd").read_text()
        edgehr = re.search(r"^edgehr:x:(\d+):(\d+):", passwd, re.M)
        assert edgehr is not None and re.search(r"^edgehr-kiosk:x:", passwd, re.M)
        assert "edgehr" in (root / "etc/group").read_text().split("video:", 1)[1].split("\n", 1)[0]
        uid, gid = int(edgehr.group(1)), int(edgehr.group(2))
        assert mode_owner(root / "var/lib/edgehr") == ("0o700", uid, gid)
        assert mode_owner(root / "etc/edgehr")[0] == "0o750" and mode_owner(root / "etc/edgehr")[2] == gid
        assert mode_owner(root / "etc/edgehr/device.toml") == ("0o640", 0, gid)
        config = (root / "etc/edgehr/device.toml").read_text()
        assert 'id = "site1-gate-a"' in config and 'kind = "terminal"' in config
        assert "enabled = false" in config  # no certificate yet: sync stays off until the operator installs one

        # Keys made on the device, private ones 0600 and the edgehr user's; the CSR printed.
        keys = root / "var/lib/edgehr/keys"
        assert mode_owner(keys) == ("0o700", uid, gid)
        for name in ("identity.key", "box.key", "tls.key"):
            assert mode_owner(keys / name) == ("0o600", uid, gid), name
        enrolment = json.loads((keys / "enrolment.json").read_text())
        assert enrolment["device_id"] == "site1-gate-a"
        assert "-----BEGIN CERTIFICATE REQUEST-----" in out

        # The release: current -> releases/<version>, models checked, the venv's edgehr runs.
        version = (release / "VERSION").read_text().strip()
        assert os.readlink(root / "opt/edgehr/current") == f"releases/{version}"
        for model in models_build_dir().iterdir():
            if model.suffix in (".onnx", ".tflite"):
                installed = root / "opt/edgehr/current/app/models/build" / model.name
                assert installed.read_bytes() == model.read_bytes()
        check = run(root, "runuser", "-u", "edgehr", "--", "/opt/edgehr/current/venv/bin/edgehr", "config", "check",
                    "/etc/edgehr/device.toml", timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr

        # System settings and units, enabled for the next boot.
        assert (root / "etc/systemd/journald.conf.d/edgehr.conf").exists()
        assert "RuntimeWatchdogSec=15s" in (root / "etc/systemd/system.conf.d/edgehr-watchdog.conf").read_text()
        assert "NTP=ntp.example.internal" in (root / "etc/systemd/timesyncd.conf.d/edgehr.conf").read_text()
        wants = root / "etc/systemd/system/multi-user.target.wants"
        # The kiosk, the panel and the courier as three services; the all-in-one unit stays off.
        assert (wants / "edgehr-terminal.service").is_symlink() and (wants / "edgehr-courier.service").is_symlink()
        assert (wants / "edgehr-panel.service").is_symlink()
        assert (wants / "edgehr-kiosk-browser.service").is_symlink() and not (wants / "edgehr-device.service").exists()
        assert (root / "etc/systemd/system/timers.target.wants/edgehr-backup.timer").is_symlink()
        assert (root / "etc/systemd/system/paths.target.wants/edgehr-update-request.path").is_symlink()
        assert mode_owner(root / "etc/edgehr/release-signing.pub") == ("0o644", 0, 0)
        assert mode_owner(root / "var/lib/edgehr/updates") == ("0o700", uid, gid)
        units = [f"/etc/systemd/system/{u}" for u in (
            "edgehr-terminal.service", "edgehr-panel.service", "edgehr-courier.service", "edgehr-device.service",
            "edgehr-kiosk-browser.service", "edgehr-backup.service", "edgehr-backup.timer",
            "edgehr-update-request.path", "edgehr-update-request.service")]
        verified = subprocess.run([analyze, "verify", f"--root={root}", *units], capture_output=True, text=True,
                                  timeout=120, check=False)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr

        # Idempotent: a second run changes nothing.
        second = run(root, *argv, timeout=600)
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
        assert ", 0 change(s)," in second.stdout, second.stdout
        assert "  changed " not in second.stdout
