"""A Debian Bookworm root for the provisioning test, built with debootstrap and cached between runs.

The pristine root is built once into ``$EDGEHR_TEST_CACHE`` (default ``~/.cache/edgehr-test-bookworm``)
as ``base/``; every test copies it, so a rerun costs a copy instead of a download. Downloaded .deb files
are kept in ``apt-archives/`` and bind-mounted into each copy, so the provisioning script's apt-get
installs download nothing the second time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.firmware.tools import require

MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
#: debootstrap of minbase takes 1 to 3 minutes here; a bound on the whole thing.
DEBOOTSTRAP_TIMEOUT = 1200


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "edgehr-test-bookworm"
    path = Path(os.environ.get("EDGEHR_TEST_CACHE", str(default)))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _unmount_under(root: Path) -> None:
    """Unmount everything mounted at or below ``root`` (deepest first)."""
    mounts = []
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        for line in fh:
            target = line.split()[1].replace("\\040", " ")
            if target == str(root) or target.startswith(str(root) + "/"):
                mounts.append(target)
    for target in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, timeout=60)


def base_root() -> Path:
    """The cached pristine Bookworm minbase root; built (under a lock) when missing."""
    cache = cache_dir()
    base = cache / "base"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (base / "etc" / "debian_version").exists() and (base / ".edgehr-complete").exists():
            return base
        debootstrap = require("debootstrap")
        tmp = cache / "base.tmp"
        _unmount_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        debs = cache / "debootstrap-debs"
        debs.mkdir(exist_ok=True)
        try:
            subprocess.run(
                [debootstrap, "--variant=minbase", f"--cache-dir={debs}", SUITE, str(tmp), MIRROR],
                check=True, timeout=DEBOOTSTRAP_TIMEOUT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        except subprocess.CalledProcessError as exc:
            raise AssertionError(f"debootstrap failed: {exc.stderr.decode(errors='replace')[-2000:]}") from None
        finally:
            _unmount_under(tmp)
        (tmp / ".edgehr-complete").write_text("debootstrap --variant=minbase bookworm\n")
        shutil.rmtree(base, ignore_errors=True)
        tmp.rename(base)
        return base


@contextlib.contextmanager
def chroot_copy(dest: Path) -> Iterator[Path]:
    """A fresh copy of the base root at ``dest`` with /proc, /sys, /dev and the apt cache mounted."""
    base = base_root()
    subprocess.run(["cp", "-a", f"{base}/.", str(dest)], check=True, timeout=600)
    archives = cache_dir() / "apt-archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    mounts = [
        ["mount", "-t", "proc", "proc", str(dest / "proc")],
        ["mount", "--rbind", "/sys", str(dest / "sys")],
        ["mount", "--rbind", "/dev", str(dest / "dev")],
        ["mount", "--bind", str(archives), str(dest / "var/cache/apt/archives")],
    ]
    shutil.copy2("/etc/resolv.conf", dest / "etc/resolv.conf")
    try:
        for argv in mounts:
            subprocess.run(argv, check=True, timeout=60)
        yield dest
    finally:
        _unmount_under(dest)
