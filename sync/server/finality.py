"""When a timesheet day is final: from the devices' proof of sync, not from the server's clock alone.

A device's *watermark* (``sync.server.store.sync_marks``) is a time on its own clock up to which every
record it had made is stored on the server. Pure functions here, the watermarks an input:

- **Which devices could hold an employee's punches** (``holders``): the active devices of the employee's
  sites, where the employee's sites are the sites of the devices that know them (the server assigned
  them there) or that sent punches of theirs; when that names no site, every active device. A revoked
  device holds nothing (it can no longer deliver: its messages are refused).
- **A slot is final** when HR recorded the day by hand, or when both (1) the server's clock is past the
  end of the slot's check-out window (no day is final before it is over) and (2) every holder is synced
  through at least ``SETTLE`` past that end (``Holders.holding`` names the ones that are not, and the
  timesheet shows them). A device that never synced, or not for long (a broker down, a terminal
  unplugged), keeps the day open for everyone it could hold punches of.

``SETTLE`` (one minute) covers a punch whose time was read just before the device numbered it: the
watermark's hello may have been sealed between the two, so its number can lie above the hello's.
Both clocks are the device's: punches are placed by their device time, and the watermark is on the same
clock, so a device whose clock is wrong is still consistent with itself; one stuck in 1970 (never
synchronised) never gets past a window and keeps its days open, which the timesheet says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SETTLE = timedelta(minutes=1)


@dataclass(frozen=True)
class Device:
    device_id: str
    site: str
    active: bool
    synced_through: datetime | None  # None: never proved synced


@dataclass(frozen=True)
class Holders:
    """The devices that could hold one employee's punches, with their watermarks."""

    devices: tuple[Device, ...] = ()

    def holding(self, until: datetime) -> tuple[str, ...]:
        """The devices not yet known synced through ``until`` + ``SETTLE`` (sorted ids)."""
        return tuple(
            sorted(d.device_id for d in self.devices if d.synced_through is None or d.synced_through < until + SETTLE)
        )


def holders(devices: Sequence[Device], known_by: Iterable[str]) -> Holders:
    """The rule in the module doc: the active devices of the sites of ``known_by`` (the devices assigned
    the employee or that sent their punches), or every active device when those name no known site."""
    by_id = {d.device_id: d for d in devices}
    sites = {by_id[i].site for i in known_by if i in by_id}
    active = [d for d in devices if d.active]
    chosen = [d for d in active if d.site in sites] if sites else active
    return Holders(tuple(sorted(chosen, key=lambda d: d.device_id)))


def final(window_end: datetime, now: datetime, held_by: Sequence[str], manual: bool) -> bool:
    """A slot whose check-out window ends at ``window_end``: final by HR's record, or once the server's
    clock is past the window and no device holds it."""
    return manual or (now > window_end and not held_by)
