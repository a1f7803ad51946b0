"""systemd's notify protocol with the standard library: READY=1, WATCHDOG=1, STOPPING=1, STATUS=...

A unit with ``Type=notify`` waits for ``READY=1`` before it counts the service as started; one with
``WatchdogSec=`` restarts the service when ``WATCHDOG=1`` does not come at least that often. systemd
passes the socket in ``$NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket) and the watchdog
period in ``$WATCHDOG_USEC`` (with ``$WATCHDOG_PID``, the process it is meant for). Outside systemd the
variable is unset and every call here does nothing, so the same code runs in tests and on a laptop.

Ping the watchdog from the loop whose progress it vouches for (the kiosk loop, the courier's loop), not
from a thread of its own: a thread that only pings keeps a stuck service alive.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

#: A datagram to systemd is tiny; a send that does not finish at once means systemd is not reading.
SEND_TIMEOUT_SECONDS = 2.0


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, ``"WATCHDOG=1"``, ``"STATUS=waiting for camera"``) to systemd.

    Returns True when a datagram was sent, False when no notify socket is set (not run by systemd) or it
    could not be reached (logged by systemd itself as a missing notification; never an error here).
    """
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    elif not address.startswith("/"):
        return False  # vsock addresses (vsock:CID:PORT) are for virtual machines, not a terminal
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(SEND_TIMEOUT_SECONDS)
        try:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
        except OSError:
            return False
    return True


def ready(status: str = "", environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd the service is up (``READY=1``), with an optional status line."""
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""), environ)


def stopping(environ: Mapping[str, str] | None = None) -> bool:
    """Tell systemd the service is shutting down on purpose (``STOPPING=1``)."""
    return notify("STOPPING=1", environ)


def watchdog_seconds(environ: Mapping[str, str] | None = None) -> float | None:
    """The watchdog period systemd set for this process, or None when there is none."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (e.g. inherited by a child)
    return int(usec) / 1_000_000


class Watchdog:
    """Pings ``WATCHDOG=1`` at most every half period, however often ``ping`` is called.

    Call ``ping(now)`` with a monotonic time in seconds from the loop that must keep making progress.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        period = watchdog_seconds(environ)
        self.interval = None if period is None else period / 2
        self._last: float | None = None

    @property
    def enabled(self) -> bool:
        return self.interval is not None

    def ping(self, now: float) -> bool:
        """Send WATCHDOG=1 when half the period has passed since the last one; True when sent."""
        if self.interval is None:
            return False
        if self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        return notify("WATCHDOG=1", self._environ)
