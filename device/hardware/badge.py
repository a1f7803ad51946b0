"""Badge readers for 1:1 mode: a small Protocol, two real adapters and an explicit fake (``claim.badge``).

- ``EvdevBadgeReader``: the common keyboard-wedge (USB HID) reader. It "types" the badge number and
  Enter; read from its /dev/input event device, decoding the kernel's ``struct input_event`` records,
  and taken exclusively (EVIOCGRAB) so the digits never also land in the kiosk browser.
- ``SerialBadgeReader``: a reader that writes one line per badge on a serial port (set to raw mode at
  ``claim.badge_baud``) or a pipe; STX/ETX framing (0x02 ... 0x03, common on RFID modules) is understood.
- ``FakeBadgeReader``: lines from a list or a text file, one per poll; only ever chosen by
  ``claim.badge = "fake"``.

Every reader is polled by the kiosk loop once per frame and never blocks; a read line is the employee
number the badge carries. No adapter falls back to another: opening raises HardwareError and says why.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import struct
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.errors import HardwareError
from device.hardware.closing import Closing

if TYPE_CHECKING:
    from device.config.device import ClaimSection

log = logging.getLogger(__name__)

#: Longest badge line kept; anything longer is noise (a stuck key, a wrong device) and is dropped.
MAX_LINE = 64
#: Bytes read per poll at most (bounded: a chattering device cannot hold the kiosk loop).
MAX_READ = 4096

# struct input_event in the machine's native layout: struct timeval (two longs), type, code, value.
# Native sizes make it 24 bytes on 64-bit and 16 bytes on 32-bit Raspberry Pi OS, as the kernel writes it.
EVENT = struct.Struct("@llHHi")
EV_KEY = 1
KEY_PRESS = 1
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int)

_DIGITS = {2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", 11: "0",
           79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", 82: "0"}
_LETTERS = dict(zip(
    [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 30, 31, 32, 33, 34, 35, 36, 37, 38, 44, 45, 46, 47, 48, 49, 50],
    "qwertyuiopasdfghjklzxcvbnm", strict=True,
))
_OTHER = {12: "-", 74: "-"}
_ENTER = {28, 96}  # KEY_ENTER, KEY_KPENTER
_SHIFT = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT


class BadgeReader(Protocol):
    def poll(self) -> str | None:
        """The oldest badge read not yet returned, or None; never blocks."""
        ...

    def status(self) -> str:
        """"ok" or "error: <what is wrong>"; shown on the health page."""
        ...

    def close(self) -> None: ...


def _open_nonblocking(path: Path, what: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise HardwareError(
            f"The {what} at claim.badge_device = {path} cannot be opened: {exc.strerror}.",
            "Check the device path (ls -l /dev/input/by-id/ or /dev/serial/by-id/) and that this user may read it "
            "(the 'input' or 'dialout' group).",
            code="badge-unavailable",
        ) from exc


class _FdReader(Closing):
    """Shared plumbing: a non-blocking file descriptor read in bounded chunks, complete lines queued."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path
        self._lines: deque[str] = deque(maxlen=16)
        self._error: str | None = None

    def _read_available(self) -> bytes:
        if self._fd is None:
            return b""
        chunks: list[bytes] = []
        size = 0
        while size < MAX_READ:
            try:
                chunk = os.read(self._fd, MAX_READ - size)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                # Unplugged (ENODEV) or broken: report it instead of raising into the kiosk loop, which
                # must keep serving the keypad; the health page shows the reader's status.
                self._error = f"error: badge reader {self.path} failed: {exc.strerror}"
                log.error("badge reader failed: %s", exc)
                self.close()
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    def _queue(self, line: str) -> None:
        line = line.strip()
        if line and len(line) <= MAX_LINE:
            self._lines.append(line)

    def poll(self) -> str | None:
        self._feed(self._read_available())
        return self._lines.popleft() if self._lines else None

    def _feed(self, data: bytes) -> None:
        raise NotImplementedError

    def status(self) -> str:
        return self._error or "ok"

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class EvdevBadgeReader(_FdReader):
    """A keyboard-wedge reader's event device (see module docstring)."""

    def __init__(self, path: Path, *, grab: bool = True) -> None:
        fd = _open_nonblocking(path, "badge reader (evdev)")
        super().__init__(fd, path)
        self._pending = b""
        self._typed: list[str] = []
        self._shift = False
        if grab and stat.S_ISCHR(os.fstat(fd).st_mode):
            import fcntl

            try:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
            except OSError as exc:
                self.close()
                raise HardwareError(
                    f"The badge reader {path} cannot be taken exclusively: {exc.strerror}.",
                    "Stop the other program reading it (another kiosk process?) and start again.",
                    code="badge-unavailable",
                ) from exc

    def _feed(self, data: bytes) -> None:
        data = self._pending + data
        whole = len(data) - len(data) % EVENT.size
        self._pending = data[whole:]
        for _sec, _usec, kind, code, value in EVENT.iter_unpack(data[:whole]):
            if kind != EV_KEY:
                continue
            if code in _SHIFT:
                self._shift = value != 0  # pressed (1) or held (2) vs released (0)
                continue
            if value != KEY_PRESS:  # releases and auto-repeats carry no new character
                continue
            if code in _ENTER:
                self._queue("".join(self._typed))
                self._typed.clear()
            elif len(self._typed) <= MAX_LINE:
                char = _DIGITS.get(code) or _OTHER.get(code)
                letter = _LETTERS.get(code)
                if letter is not None:
                    char = letter.upper() if self._shift else letter
                if char is not None:
                    self._typed.append(char)


class SerialBadgeReader(_FdReader):
    """A line-per-badge serial reader or pipe (see module docstring)."""

    def __init__(self, path: Path, *, baud: int = 9600) -> None:
        fd = _open_nonblocking(path, "badge reader (serial)")
        super().__init__(fd, path)
        self._partial = b""
        if os.isatty(fd):
            try:
                _raw_mode(fd, baud)
            except (OSError, ValueError) as exc:
                self.close()
                raise HardwareError(
                    f"The serial badge reader {path} cannot be set to {baud} baud: {exc}.",
                    "Set claim.badge_baud to a speed the port supports (the reader's manual names it).",
                    code="badge-unavailable",
                ) from exc

    def _feed(self, data: bytes) -> None:
        data = self._partial + data
        for end in (b"\r\n", b"\r", b"\x03"):
            data = data.replace(end, b"\n")
        *lines, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE:
            self._partial = b""  # no line end in sight: noise, not a badge
        for raw in lines:
            self._queue(raw.replace(b"\x02", b"").decode("ascii", errors="replace"))


def _raw_mode(fd: int, baud: int) -> None:
    import termios
    import tty

    speed = getattr(termios, f"B{baud}", None)
    if speed is None:
        raise ValueError(f"{baud} is not a standard baud rate")
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = speed  # ispeed, ospeed
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class FakeBadgeReader(Closing):
    """Badge reads from a list (tests push more with ``present``); one is returned per poll."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self._lines: deque[str] = deque(line.strip() for line in lines if line.strip())

    @classmethod
    def from_file(cls, path: Path) -> FakeBadgeReader:
        try:
            return cls(path.read_text(encoding="utf-8").splitlines())
        except OSError as exc:
            raise HardwareError(
                f"The fake badge reader's file claim.badge_device = {path} cannot be read: {exc.strerror}.",
                "Give the path of a text file with one employee number per line.",
                code="badge-unavailable",
            ) from exc

    def present(self, badge: str) -> None:
        self._lines.append(badge)

    def poll(self) -> str | None:
        return self._lines.popleft() if self._lines else None

    def status(self) -> str:
        return "ok"

    def close(self) -> None:
        self._lines.clear()


def open_badge_reader(config: ClaimSection) -> BadgeReader | None:
    """The reader ``claim.badge`` names, or None when there is none."""
    if config.badge == "none":
        return None
    assert config.badge_device is not None  # guaranteed by ClaimSection's validator
    if config.badge == "evdev":
        return EvdevBadgeReader(config.badge_device)
    if config.badge == "serial":
        return SerialBadgeReader(config.badge_device, baud=config.badge_baud)
    if config.badge == "fake":
        return FakeBadgeReader.from_file(config.badge_device)
    raise AssertionError(f"unhandled badge reader {config.badge!r}")  # Literal type makes this unreachable
