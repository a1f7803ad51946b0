"""The provisioning and update scripts are shellcheck clean; every systemd unit we ship passes
`systemd-analyze verify` with its ExecStart programs resolvable (in a root laid out like a device)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.firmware.tools import require

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = [
    REPO / "firmware_scripts" / "provision.sh",
    REPO / "firmware_scripts" / "edgehr-update",
    REPO / "firmware_scripts" / "make-release",
    REPO / "firmware_scripts" / "conf" / "kiosk-browser",
    REPO / "ops" / "server" / "edgehr-backup-db",
    REPO / "ops" / "server" / "postgres-setup.sh",
    Path(__file__).with_name("fake_systemctl"),
]
DEVICE_UNITS = sorted((REPO / "firmware_scripts" / "systemd").iterdir())
SERVER_UNITS = sorted(p for p in (REPO / "ops" / "server").iterdir() if p.suffix in (".service", ".timer"))
#: Programs the units start, made as stubs in the verification root (the chroot test uses the real ones).
PROGRAMS = [
    "opt/edgehr/current/venv/bin/edgehr", "opt/edgehr/current/venv/bin/python", "usr/bin/cage",
    "opt/edgehr-server/current/venv/bin/edgehr", "opt/edgehr-server/current/venv/bin/python",
    "opt/edgehr-server/current/app/ops/server/edgehr-backup-db", "usr/bin/test", "usr/sbin/mosquitto",
    "usr/local/sbin/edgehr-update",
]


def test_scripts_are_shellcheck_clean() -> None:
    shellcheck = require("shellcheck")
    for script in SCRIPTS:
        assert script.exists(), script
    result = subprocess.run([shellcheck, "-x", "--severity=style", *map(str, SCRIPTS)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout


def verify_root(tmp_path: Path) -> Path:
    """A root with systemd's own units (sysinit.target...) from this host and stub programs."""
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for program in PROGRAMS:
        path = root / program
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    (root / "usr/local/lib/edgehr").mkdir(parents=True)
    shutil.copy2(REPO / "firmware_scripts/conf/kiosk-browser", root / "usr/local/lib/edgehr/kiosk-browser")
    return root


def analyze(root: Path, units: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require("systemd-analyze"), "verify", f"--root={root}", *units],
                          capture_output=True, text=True, timeout=120, check=False)


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    root = verify_root(tmp_path)
    # Debian's mosquitto.service, for our drop-in to extend (what `apt install mosquitto` ships).
    (root / "usr/lib/systemd/system/mosquitto.service").write_text(
        "[Unit]\nDescription=Mosquitto MQTT Broker\n[Service]\nType=notify\n"
        "ExecStart=/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf\n[Install]\nWantedBy=multi-user.target\n")
    installed = []
    for unit in [*DEVICE_UNITS, *SERVER_UNITS]:
        shutil.copy2(unit, root / "etc/systemd/system" / unit.name)
        name = unit.name.replace("@.service", "@worker-1.service")
        if name != unit.name:
            (root / "etc/systemd/system" / name).symlink_to(unit.name)
        installed.append(f"/etc/systemd/system/{name}")
    dropin = root / "etc/systemd/system/mosquitto.service.d"
    dropin.mkdir()
    shutil.copy2(REPO / "ops/server/mosquitto.service.d/edgehr.conf", dropin / "edgehr.conf")
    installed.append("/usr/lib/systemd/system/mosquitto.service")
    result = analyze(root, installed)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_verify_catches_a_missing_program(tmp_path: Path) -> None:
    """The check above has teeth: a unit whose program is absent fails."""
    root = verify_root(tmp_path)
    (root / "opt/edgehr/current/venv/bin/edgehr").unlink()
    shutil.copy2(REPO / "firmware_scripts/systemd/edgehr-device.service", root / "etc/systemd/system")
    result = analyze(root, ["/etc/systemd/system/edgehr-device.service"])
    assert result.returncode != 0 and "is not executable" in result.stderr
