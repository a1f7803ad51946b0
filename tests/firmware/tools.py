"""Host tools the firmware tests need: each missing one fails the test naming its Debian package.

ops/setup.sh installs every one of them (APT_PACKAGES), so in CI nothing here is ever missing; a test
that skipped instead would hide a broken set-up.
"""

from __future__ import annotations

import shutil

import pytest

#: command -> the Debian package that provides it
PACKAGES = {
    "shellcheck": "shellcheck",
    "debootstrap": "debootstrap",
    "systemd-analyze": "systemd",
    "chroot": "coreutils",
    "sqlite3": "sqlite3",
    "pg_dump": "postgresql-client",
    "pg_restore": "postgresql-client",
}


def require(command: str) -> str:
    """The path of ``command``, or fail the test saying which package ops/setup.sh must install."""
    path = shutil.which(command)
    if path is None:
        package = PACKAGES.get(command, command)
        pytest.fail(f"{command} is not installed: ops/setup.sh must install the Debian package {package!r} "
                    f"(APT_PACKAGES); run `apt-get install {package}`", pytrace=False)
    return path
