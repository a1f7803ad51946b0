"""What the panel reads or writes of the running kiosk, in one process (``--only all``) or across two
(``--only kiosk`` beside ``--only panel``), behind the same small interfaces so the routes do not know which.

Inventory of the kiosk's in-memory state the panel uses, and the mechanism each takes when split:

==============================  ==========================================  =====================================
state                           read/written by                              split: through
==============================  ==========================================  =====================================
screen state (status, guidance, /kiosk/state (the page polls it)             socket ``state`` (live)
banner, last_seq)
camera preview frame            /kiosk/preview.jpg                           socket ``preview`` (JPEG, live)
1:1 claim desk (pending claim,  /kiosk/state, POST /kiosk/claim, /cancel     socket ``state``, ``claim``,
lock-out)                                                                    ``cancel`` (live)
kiosk counters                  /kiosk/metrics, /metrics                     socket ``counters`` (live)
camera frames (enrolment,       /admin/enrol/<no>/camera, diagnostics        socket ``frames`` (PNG, live)
diagnostics snapshot)
camera status                   /health                                      socket ``camera``
restart after saved settings    /admin/settings                              socket ``restart`` (the kiosk
                                                                             re-executes; the panel too)
gallery (duplicate check,       enrolment pages                              SQLite: the panel keeps its own
enrolled people)                                                             gallery from the templates, the
                                                                             kiosk reloads on templates_marker
employees, punches, consent,    every admin page                             SQLite (device/store), as today
snapshots, audit, accounts
decision latency histogram      /metrics                                     not shared: only ``all`` has it
relay and buzzer (diagnostics)  diagnostics page                             not shared: GPIO belongs to the
                                                                             kiosk; the page says "not used"
recent errors (dashboard)       dashboard                                    not shared: the panel's own log;
                                                                             the kiosk's is in journald
==============================  ==========================================  =====================================

When the kiosk process is away the remote stand-ins degrade: the screen state says
``status: "error: kiosk-process-down"`` (the page shows its out-of-order notice), counters are empty,
claims are refused with ``kiosk-down``, and frames raise :class:`KioskAway` (the camera pages answer 503).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from core.i18n import both
from core.types import Image
from device.attendance.claims import ClaimSource
from device.attendance.outcomes import Claimed, ClaimRefused, Outcome
from device.config.device import ClaimSection
from device.panel.live_socket import Answer, LiveClient, LiveError, decode_frame, encode_frame

#: The screen status the panel shows while the kiosk process does not answer.
DOWN_STATUS = "error: kiosk-process-down"


class KioskAway(Exception):
    """The kiosk process does not answer (it is restarting or stopped)."""


class ScreenView(Protocol):
    """What the kiosk routes read of the screen (device.attendance.screen.KioskScreen in one process)."""

    device_name: str
    preview_enabled: bool

    def state(self) -> dict[str, Any]: ...

    def preview_jpeg(self) -> bytes | None: ...


class ClaimsView(Protocol):
    """What the kiosk routes use of the 1:1 claim desk (device.attendance.claims.ClaimDesk in one process)."""

    @property
    def settings(self) -> ClaimSection: ...

    def view(self) -> dict[str, object]: ...

    def cancel(self) -> bool: ...


class KioskParts(Protocol):
    """The kiosk-process side the socket answers from (a device.runner.Terminal)."""

    screen: Any
    claims: Any
    fallback: Any
    kiosk: Any
    camera: Any


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Claimed):
        return {"kind": outcome.kind, "employee_no": outcome.employee_no, "source": outcome.source,
                "timeout_seconds": outcome.timeout_seconds}
    if isinstance(outcome, ClaimRefused):
        return {"kind": outcome.kind, "code": outcome.code, "employee_no": outcome.employee_no,
                "retry_after_seconds": outcome.retry_after_seconds}
    raise LiveError(f"a claim answers Claimed or ClaimRefused, not {type(outcome).__name__}")


def outcome_from(data: object) -> Claimed | ClaimRefused:
    if isinstance(data, dict) and data.get("kind") == "claimed":
        return Claimed(str(data["employee_no"]), str(data["source"]), float(data["timeout_seconds"]))
    if isinstance(data, dict) and data.get("kind") == "claim-refused":
        retry = data.get("retry_after_seconds")
        number = data.get("employee_no")
        return ClaimRefused(str(data["code"]), None if number is None else str(number),
                            int(retry) if isinstance(retry, int) else None)
    raise LiveError("a claim answer outside the protocol")


def kiosk_answer(parts: KioskParts, restart: Callable[[], None]) -> Callable[[dict[str, Any]], Answer]:
    """The kiosk process's answers to the panel's requests (validated by live_socket.check_request)."""
    desk = parts.claims or parts.fallback

    def answer(request: dict[str, Any]) -> Answer:
        op = request["op"]
        if op == "state":
            return {"state": parts.screen.state(), "claim": desk.view() if desk is not None else None}, []
        if op == "preview":
            jpeg = parts.screen.preview_jpeg()
            return {"has": jpeg is not None}, [jpeg] if jpeg is not None else []
        if op == "counters":
            return {"counters": parts.kiosk.counters().as_dict()}, []
        if op == "camera":
            return {"camera": parts.camera.status()}, []
        if op == "claim":
            if desk is None:
                raise LiveError("no claims in this recognition mode")
            outcome = parts.kiosk.claim(request["employee_no"], source="keypad", pin=request.get("pin") or None)
            return {"outcome": outcome_dict(outcome)}, []
        if op == "cancel":
            return {"cancelled": desk.cancel() if desk is not None else False}, []
        if op == "frames":
            frames = parts.kiosk.borrow_frames(request["count"], timeout_seconds=float(request["timeout"]))
            return {}, [encode_frame(f) for f in frames]
        restart()
        return {}, []

    return answer


class RemoteKiosk:
    """The panel process's view of the kiosk process (device/panel/live_socket.py's client)."""

    def __init__(self, state_dir: Path, *, device_name: str, preview: bool, claim: ClaimSection | None) -> None:
        self.client = LiveClient(state_dir)
        self.screen = RemoteScreen(self, device_name, preview)
        self.claims = RemoteClaims(self, claim) if claim is not None else None

    def ask(self, request: dict[str, Any], timeout: float | None = None) -> Answer:
        try:
            return self.client.ask(request, timeout=timeout)
        except LiveError as exc:
            raise KioskAway(str(exc)) from exc

    def up(self) -> bool:
        try:
            self.ask({"op": "camera"})
        except KioskAway:
            return False
        return True

    def counters(self) -> dict[str, object]:
        try:
            counters: dict[str, object] = self.ask({"op": "counters"})[0]["counters"]
        except KioskAway:
            return {"kiosk": "not running"}
        return counters

    def camera_status(self) -> str:
        try:
            return str(self.ask({"op": "camera"})[0]["camera"])
        except KioskAway:
            return "kiosk process not running"

    def claim(self, typed: str, *, source: ClaimSource = "keypad", pin: str | None = None) -> Outcome:
        try:
            header, _ = self.ask({"op": "claim", "employee_no": typed, "pin": pin}, timeout=10.0)
        except KioskAway:
            return ClaimRefused("kiosk-down", None)
        return outcome_from(header.get("outcome"))

    def frames(self, count: int, *, timeout_seconds: float) -> list[Image]:
        """``count`` frames borrowed from the kiosk loop; KioskAway when it does not answer."""
        _, blobs = self.ask({"op": "frames", "count": count, "timeout": timeout_seconds},
                            timeout=timeout_seconds + 5.0)
        try:
            return [decode_frame(b) for b in blobs]
        except LiveError as exc:
            raise KioskAway(str(exc)) from exc

    def restart(self) -> None:
        self.ask({"op": "restart"})


class RemoteScreen:
    def __init__(self, remote: RemoteKiosk, device_name: str, preview: bool) -> None:
        self.remote = remote
        self.device_name = device_name
        self.preview_enabled = preview

    def state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = self.remote.ask({"op": "state"})[0]["state"]
        except KioskAway:
            return {"status": DOWN_STATUS, "device_name": self.device_name, "guidance": "idle",
                    "guidance_message": both("guidance.idle"), "banner": None, "last_seq": 0,
                    "preview": self.preview_enabled}
        return state

    def preview_jpeg(self) -> bytes | None:
        try:
            header, blobs = self.remote.ask({"op": "preview"})
        except KioskAway:
            return None
        return blobs[0] if header.get("has") and blobs else None


class RemoteClaims:
    def __init__(self, remote: RemoteKiosk, settings: ClaimSection) -> None:
        self.remote = remote
        self._settings = settings

    @property
    def settings(self) -> ClaimSection:
        return self._settings

    def view(self) -> dict[str, object]:
        try:
            view = self.remote.ask({"op": "state"})[0]["claim"]
        except KioskAway:
            view = None
        if isinstance(view, dict):
            return view
        return {"keypad": self._settings.keypad, "pin": self._settings.pin, "badge": self._settings.badge != "none",
                "pending": None, "locked_seconds": 0}

    def cancel(self) -> bool:
        try:
            return bool(self.remote.ask({"op": "cancel"})[0]["cancelled"])
        except KioskAway:
            return False
