"""1:1 mode's identity claims: "I am employee N" (keypad, keypad + PIN, or badge) before the face is verified.

The ``ClaimDesk`` checks a claim (a known, active, enrolled employee; the PIN against its scrypt hash),
holds the one pending claim until it is used or ``claim.timeout_seconds`` pass, and refuses new claims
while too many failed in the last ``claim.failure_window_seconds`` (a sliding window shared by every
claim on this terminal: guessing PINs or numbers at the keypad stops after ``claim.max_failures``).

Claims arrive from the panel's thread (the kiosk page's keypad) and from the kiosk loop (the badge
reader), and are read by the kiosk loop, so the desk's state is guarded by a lock. Checking a PIN runs
scrypt outside the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from device.attendance.outcomes import Claimed, ClaimRefused
from device.config.device import ClaimSection
from device.store import Store
from device.store.pins import PinHash, hash_pin, pin_hash

ClaimSource = Literal["keypad", "badge"]

#: Longest employee number accepted from a keypad or badge (the store has no shorter limit).
MAX_NUMBER = 32


@cache
def _decoy() -> PinHash:
    """A hash of a PIN nobody has, checked when the number has no PIN: an unknown number then costs the same
    scrypt time as a wrong PIN, so the keypad's response time does not tell which numbers exist. Made on
    first use: scrypt at import time would slow every CLI start."""
    return hash_pin("00000000")


@dataclass(frozen=True)
class Claim:
    employee_no: str
    source: ClaimSource
    expires_ns: int
    serial: int  # tells two claims of the same number apart (the kiosk restarts its decision per claim)


@dataclass(frozen=True)
class Expired:
    """The pending claim was not verified in time."""

    claim: Claim


def _active_employee(store: Store, employee_no: str) -> bool:
    # Inside a transaction: the panel thread reads while the kiosk thread may be writing a punch on the
    # same connection; the store's lock keeps the two apart.
    with store.transaction() as conn:
        row = conn.execute("SELECT 1 FROM employees WHERE employee_no = ? AND active = 1", (employee_no,)).fetchone()
    return row is not None


class ClaimDesk:
    def __init__(
        self,
        settings: ClaimSection,
        *,
        store: Store,
        enrolled: Callable[[str], bool],
        monotonic_ns: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.store = store
        self._enrolled = enrolled
        self._now = monotonic_ns
        self._timeout_ns = int(settings.timeout_seconds * 1e9)
        self._window_ns = settings.failure_window_seconds * 1_000_000_000
        self._lock = threading.Lock()
        self._pending: Claim | None = None
        self._failures: deque[int] = deque(maxlen=settings.max_failures)
        self._serial = 0

    @property
    def prompt(self) -> str:
        """Guidance code shown while no claim is pending."""
        if self.settings.keypad and self.settings.badge != "none":
            return "number-or-badge"
        return "enter-number" if self.settings.keypad else "show-badge"

    # -- claims in ----------------------------------------------------------------------------------------
    def submit(self, typed: str, *, source: ClaimSource, pin: str | None = None) -> Claimed | ClaimRefused:
        """Check a claim; when it holds it becomes the pending claim (replacing any other)."""
        locked = self._locked_seconds()
        if locked:
            return ClaimRefused("locked", None, locked)
        number = typed.strip()
        if source == "keypad":
            if not number.isdigit() or not number.isascii():
                return self._fail("unknown-number", None)
            number = self.settings.keypad_prefix + number
        if not number or len(number) > MAX_NUMBER:
            return self._fail("unknown-number", None)
        if source == "keypad" and self.settings.pin:
            if not pin:
                return ClaimRefused("pin-required", None)  # not a failure: the page asks for the PIN next
            stored = pin_hash(self.store, number)
            # Same answer and same work for an unknown number, no PIN set, or a wrong PIN.
            right = (stored or _decoy()).matches(pin) and stored is not None
            if not right:
                return self._fail("wrong-pin", None)
        elif not _active_employee(self.store, number):
            return self._fail("unknown-number", None)
        if not self._enrolled(number):
            return self._fail("not-enrolled", number)
        with self._lock:
            self._serial += 1
            self._pending = Claim(number, source, self._now() + self._timeout_ns, self._serial)
        return Claimed(number, source, self.settings.timeout_seconds)

    def cancel(self) -> bool:
        """Drop the pending claim (the person pressed Cancel); True when there was one."""
        with self._lock:
            had, self._pending = self._pending is not None, None
        return had

    # -- claims used by the kiosk loop ---------------------------------------------------------------------
    def current(self) -> Claim | Expired | None:
        """The pending claim; once it has timed out, ``Expired`` (once) and then None."""
        with self._lock:
            claim = self._pending
            if claim is None or self._now() < claim.expires_ns:
                return claim
            self._pending = None
        return Expired(claim)

    def finish(self, claim: Claim, *, failed: bool) -> None:
        """The claim was used: punched (or refused by the rules), or failed (face mismatch, spoof)."""
        with self._lock:
            if self._pending is not None and self._pending.serial == claim.serial:
                self._pending = None
            if failed:
                self._failures.append(self._now())

    # -- rate limit ----------------------------------------------------------------------------------------
    def _fail(self, code: str, employee_no: str | None) -> ClaimRefused:
        with self._lock:
            self._failures.append(self._now())
        return ClaimRefused(code, employee_no)

    def _locked_seconds(self) -> int:
        """Whole seconds until a claim may be made again (0 = not locked)."""
        with self._lock:
            now = self._now()
            while self._failures and now - self._failures[0] >= self._window_ns:
                self._failures.popleft()
            if len(self._failures) < self.settings.max_failures:
                return 0
            return max(1, -(-(self._failures[0] + self._window_ns - now) // 1_000_000_000))

    def view(self) -> dict[str, object]:
        """What the kiosk page shows about claims (read by the panel's /kiosk/state)."""
        locked = self._locked_seconds()
        with self._lock:
            claim = self._pending
            now = self._now()
        left = None if claim is None else max(0.0, (claim.expires_ns - now) / 1e9)
        return {
            "keypad": self.settings.keypad,
            "pin": self.settings.pin,
            "badge": self.settings.badge != "none",
            "pending": None if claim is None or left == 0 else {
                "employee_no": claim.employee_no, "source": claim.source, "seconds_left": round(left or 0.0, 1)
            },
            "locked_seconds": locked,
        }
