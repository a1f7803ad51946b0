"""Network namespaces for drills that need several "hosts" on one machine: a hub namespace with a veth pair
to each spoke (a star: every spoke reaches the hub, and nothing else). Needs root and iproute2.

Every namespace and link is made here and removed by :meth:`Star.close` (processes still inside are
killed first: they can only be ones the drill started, since the namespaces are its own). Nothing is
added to the machine's own network namespace.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.errors import EdgehrError

#: Spoke i gets 10.251.i.2/24; the hub's end of its link is 10.251.i.1.
SUBNET = "10.251"
IP = shutil.which("ip") or "/usr/sbin/ip"


def run(argv: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run a program the drill names itself (never input from elsewhere), capturing its output."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603


def _ip(*args: str) -> None:
    result = run([IP, *args])
    if result.returncode != 0:
        raise EdgehrError(f"'ip {' '.join(args)}' failed: {result.stderr.strip()}",
                          "Run as root on Linux with iproute2 installed (apt install iproute2).", code="netns")


def available() -> str | None:
    """None when namespaces can be made here, else why not."""
    if shutil.which(IP) is None:
        return "the 'ip' command (Debian package iproute2) is not installed"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    probe = f"ehrprobe{os.getpid()}"
    result = run([IP, "netns", "add", probe])
    if result.returncode != 0:
        return f"'ip netns add' failed: {result.stderr.strip()}"
    run([IP, "netns", "del", probe])
    return None


@dataclass
class Star:
    """``hub`` and ``spokes`` (role names) as namespaces named ``<prefix>-<role>``."""

    prefix: str
    hub: str
    spokes: Sequence[str]
    made: list[str] = field(default_factory=list)

    def ns(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def hub_address(self, spoke: str) -> str:
        """The hub's address as ``spoke`` reaches it."""
        return f"{SUBNET}.{list(self.spokes).index(spoke) + 1}.1"

    def spoke_address(self, spoke: str) -> str:
        return f"{SUBNET}.{list(self.spokes).index(spoke) + 1}.2"

    def hub_addresses(self) -> list[str]:
        return [self.hub_address(s) for s in self.spokes]

    def exec_prefix(self, role: str) -> list[str]:
        """argv prefix that runs a program inside ``role``'s namespace (``ip netns exec`` execs it: same pid)."""
        return [IP, "netns", "exec", self.ns(role)]

    def open(self) -> Star:
        for role in (self.hub, *self.spokes):
            _ip("netns", "add", self.ns(role))
            self.made.append(self.ns(role))
            _ip("-n", self.ns(role), "link", "set", "lo", "up")
        hub = self.ns(self.hub)
        for i, spoke in enumerate(self.spokes, start=1):
            near, far = f"to-{spoke}"[:15], f"to-{self.hub}"[:15]
            _ip("-n", hub, "link", "add", near, "type", "veth", "peer", "name", far, "netns", self.ns(spoke))
            _ip("-n", hub, "addr", "add", f"{SUBNET}.{i}.1/24", "dev", near)
            _ip("-n", self.ns(spoke), "addr", "add", f"{SUBNET}.{i}.2/24", "dev", far)
            _ip("-n", hub, "link", "set", near, "up")
            _ip("-n", self.ns(spoke), "link", "set", far, "up")
        return self

    def pids(self, role: str) -> list[int]:
        result = run([IP, "netns", "pids", self.ns(role)])
        return [int(p) for p in result.stdout.split()]

    def kill_all(self, role: str, timeout: float = 10.0) -> int:
        """SIGKILL every process in ``role``'s namespace (a host losing power); returns how many there were."""
        pids = self.pids(role)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.pids(role) and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(pids)

    def close(self) -> None:
        for name in reversed(self.made):
            role = name.removeprefix(f"{self.prefix}-")
            self.kill_all(role)
            run([IP, "netns", "del", name])
        self.made.clear()

    def __enter__(self) -> Star:
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
