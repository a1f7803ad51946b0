"""What the kiosk screen shows: the current guidance, the last result banner, and (optionally) a preview.

The kiosk loop writes here; the panel's /kiosk routes read from here (another thread), so every access
takes the lock. The preview keeps only a reference to the latest frame in memory and encodes it to a
small JPEG on request: frames are never written anywhere.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from core.errors import EdgehrError
from core.i18n import both
from core.types import Image
from device.attendance.outcomes import (
    GUIDANCE_FOR_QUALITY,
    Claimed,
    ClaimRefused,
    Debounced,
    Idle,
    Outcome,
    PoorImage,
    Punched,
    PunchFailed,
    Spoof,
    Unknown,
    Waiting,
)
from device.attendance.week_hours import hours_text

log = logging.getLogger(__name__)
#: (employee_no, local time of the punch) -> minutes worked this week (device/attendance/week_hours.py).
WeekMinutes = Callable[[str, datetime], int]
#: Width of the preview JPEG: enough to see where one stands, too small to be a usable photo.
PREVIEW_WIDTH = 320


@dataclass(frozen=True)
class Banner:
    """The result of the last decision, shown large and coloured for a few seconds."""

    seq: int  # increases with each new banner, so the page can tell a new result from the same one
    kind: str  # punched, debounced, unknown, spoof, punch-failed, claim-refused
    tone: str  # ok, info, error: the banner's colour
    name: str | None
    employee_no: str | None
    direction: str | None
    time: str | None  # local HH:MM:SS
    message: dict[str, str]  # per language
    shown_at_ns: int
    #: After a punch: the person's hours this week on this terminal (device/attendance/week_hours.py).
    week_minutes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "tone": self.tone,
            "name": self.name,
            "employee_no": self.employee_no,
            "direction": self.direction,
            "direction_label": both(f"kiosk.direction.{self.direction}") if self.direction else None,
            "time": self.time,
            "message": self.message,
            "week_hours": None if self.week_minutes is None else both(
                "kiosk.week-hours", hours=hours_text(self.week_minutes)),
        }


def _hms(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


def banner_for(outcome: Outcome, seq: int, now_ns: int, week_minutes: int | None = None) -> Banner | None:
    """The banner an outcome shows, or None when it only changes the guidance line; ``week_minutes``: the
    punching person's hours this week, shown on a punch's card."""
    if isinstance(outcome, Punched):
        when = _hms(outcome.time)
        key = f"kiosk.punched.{outcome.direction}"
        return Banner(seq, outcome.kind, "ok", outcome.name, outcome.employee_no, outcome.direction, when,
                      both(key, name=outcome.name, time=when), now_ns, week_minutes)
    if isinstance(outcome, Debounced):
        when = _hms(outcome.punched_at)
        return Banner(seq, outcome.kind, "info", outcome.name, outcome.employee_no, outcome.direction, when,
                      both("kiosk.debounced", name=outcome.name, time=when), now_ns)
    if isinstance(outcome, Unknown):
        # A look-alike is told what to do next (badge or number) rather than a bare "unknown".
        key = "kiosk.unknown-margin" if outcome.reason == "margin" else "kiosk.unknown"
        return Banner(seq, outcome.kind, "error", None, None, None, None, both(key), now_ns)
    if isinstance(outcome, Spoof):
        key = "kiosk.challenge-failed" if outcome.reason == "challenge" else "kiosk.spoof"
        return Banner(seq, outcome.kind, "error", None, None, None, None, both(key), now_ns)
    if isinstance(outcome, PunchFailed):
        return Banner(seq, outcome.kind, "error", None, outcome.employee_no, None, None, both("kiosk.punch-failed"),
                      now_ns)
    if isinstance(outcome, ClaimRefused):
        message = both(f"kiosk.claim.{outcome.code}", number=outcome.employee_no or "",
                       seconds=outcome.retry_after_seconds or 0)
        return Banner(seq, outcome.kind, "error", None, outcome.employee_no, None, None, message, now_ns)
    return None


def guidance_for(outcome: Outcome) -> str | None:
    """The guidance code to show for an outcome (None keeps the current line)."""
    if isinstance(outcome, Waiting):
        return outcome.guidance
    if isinstance(outcome, PoorImage):
        return GUIDANCE_FOR_QUALITY.get(outcome.reason, "look-at-camera")
    if isinstance(outcome, Idle):
        return "idle"
    if isinstance(outcome, Claimed):
        return "look-at-camera"
    return None


class KioskScreen:
    def __init__(
        self,
        *,
        device_name: str,
        default_language: str,
        monotonic_ns: Callable[[], int],
        banner_seconds: float = 4.0,
        preview: bool = False,
        week_minutes: WeekMinutes | None = None,
    ) -> None:
        """``week_minutes(employee_no, local punch time)``: the person's minutes this week, for the card
        after a punch (None: the card shows no hours)."""
        self.week_minutes = week_minutes
        self.device_name = device_name
        self.default_language = default_language
        self.preview_enabled = preview
        self._monotonic_ns = monotonic_ns
        self._banner_ns = int(banner_seconds * 1e9)
        self._lock = threading.Lock()
        self._guidance = "idle"
        self._banner: Banner | None = None
        self._seq = 0
        self._frame: Image | None = None
        self._status = "starting"

    def show(self, outcome: Outcome) -> None:
        week = None
        if isinstance(outcome, Punched) and self.week_minutes is not None:
            try:  # read before the lock: the page's polls never wait on the database
                week = self.week_minutes(outcome.employee_no, outcome.time)
            except (EdgehrError, sqlite3.Error) as exc:  # the punch is stored: the card shows it without hours
                log.error("hours this week not read: %s", exc)
        now = self._monotonic_ns()
        with self._lock:
            guidance = guidance_for(outcome)
            if guidance is not None:
                self._guidance = guidance
            if isinstance(outcome, Claimed):
                self._banner = None  # a new person's claim: the previous result is not theirs
            banner = banner_for(outcome, self._seq + 1, now, week)
            if banner is not None:
                self._seq += 1
                self._banner = banner

    def set_status(self, status: str) -> None:
        """"running", "stopped" or "error: ..." — the page shows an out-of-order notice unless running."""
        with self._lock:
            self._status = status

    def offer_frame(self, image: Image) -> None:
        """Keep the latest frame for the preview (only when enabled; only in memory; replaced each frame)."""
        if self.preview_enabled:
            with self._lock:
                self._frame = image

    def state(self) -> dict[str, Any]:
        now = self._monotonic_ns()
        with self._lock:
            banner = self._banner if self._banner and now - self._banner.shown_at_ns < self._banner_ns else None
            return {
                "status": self._status,
                "device_name": self.device_name,
                "guidance": self._guidance,
                "guidance_message": both(f"guidance.{self._guidance}"),
                "banner": banner.as_dict() if banner else None,
                "last_seq": self._seq,
                "preview": self.preview_enabled,
            }

    def preview_jpeg(self, width: int = PREVIEW_WIDTH) -> bytes | None:
        """The latest frame, downscaled, as JPEG; None when the preview is off or no frame came yet."""
        with self._lock:
            frame = self._frame if self.preview_enabled else None
        if frame is None:
            return None
        import cv2

        height, full_width = frame.shape[:2]
        small: np.ndarray = frame
        if full_width > width:
            small = cv2.resize(frame, (width, max(1, round(height * width / full_width))), interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 70])
        return bytes(encoded.tobytes()) if ok else None
