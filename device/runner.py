"""A terminal, assembled from its configuration: store, data key, camera, GPIO, vision, kiosk loop, panel.

``Terminal`` owns every part and closes them in reverse order; ``run_device`` is the handler of
``edgehr device run --config FILE``: it runs until SIGINT or SIGTERM and then shuts down cleanly (the
kiosk loop finishes its frame, so a punch being written is committed or never started).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core import sdnotify
from core.clock import Clock, SystemClock
from core.datakey import DataKey, load_or_create
from core.errors import EdgehrError
from core.signals import stop_on_signals
from device.attendance.challenge import TurnRule, configured_rule
from device.attendance.claims import ClaimDesk
from device.attendance.decision import Decision
from device.attendance.enrolment import Enroller, EnrolmentReport
from device.attendance.kiosk import Kiosk
from device.attendance.rules import PunchRules, site_zone
from device.attendance.screen import KioskScreen
from device.attendance.vision_parts import VisionParts, open_vision
from device.attendance.week_hours import week_minutes
from device.config.device import DeviceConfig
from device.courier.status_file import status_problems
from device.hardware.badge import BadgeReader
from device.hardware.camera import Camera
from device.hardware.gpio import GpioBoard
from device.health import Health, collect
from device.running import RunningParts
from device.store import Store, open_store
from device.store.employees import load_templates
from device.store.snapshots import SnapshotStore
from device.terminal_gallery import load_gallery as load_gallery
from device.terminal_gallery import templates_marker as _templates_marker

if TYPE_CHECKING:
    from device.courier.courier import Courier
    from device.panel.live_socket import LiveServer

log = logging.getLogger(__name__)

#: How often the runner checks whether templates changed under the gallery (courier downlinks, panel).
GALLERY_CHECK_SECONDS = 1.0
#: How often expired punch snapshots are purged (also once at start, and whether or not snapshots are on now).
SNAPSHOT_PURGE_SECONDS = 3600.0


def state_paths(config: DeviceConfig) -> tuple[Path, Path]:
    """(database file, data key file) inside the configured state folder."""
    state = config.device.state_dir
    return state / "device.db", state / "keys" / "data.key"


class Terminal:
    def __init__(
        self,
        config: DeviceConfig,
        *,
        store: Store,
        key: DataKey,
        camera: Camera,
        gpio: GpioBoard,
        vision: VisionParts,
        clock: Clock,
        paced_replay: bool = True,
        courier: Courier | None = None,
        badge: BadgeReader | None = None,
    ) -> None:
        # Refused before anything is built: "blink" is not built, and must not silently mean "off".
        challenge = configured_rule(config.recognition)
        self.config = config
        self.store = store
        self.key = key
        self.camera = camera
        self.gpio = gpio
        self.vision = vision
        self.clock = clock
        zone = site_zone(config.device.timezone)
        self.screen = KioskScreen(
            device_name=config.device.name, default_language=config.device.language,
            monotonic_ns=clock.monotonic_ns, banner_seconds=config.kiosk.banner_seconds, preview=config.kiosk.preview,
            week_minutes=lambda employee_no, at: week_minutes(store, employee_no, at),  # the card after a punch
        )
        rec = config.recognition
        self.snapshots = SnapshotStore(store, key, config.device.state_dir / "snapshots", clock,
                                       retention_days=config.attendance.snapshot_retention_days)
        self._next_purge_ns: int | None = None
        # 1:1 mode: an identity is claimed first (keypad on the kiosk page, or the badge reader); 1:N with
        # claim.lookalike_fallback: a look-alike may claim theirs (the same desk, used only when asked).
        gallery = vision.gallery
        desk = ClaimDesk(config.claim, store=store, enrolled=lambda no: no in gallery, monotonic_ns=clock.monotonic_ns)
        self.claims = desk if rec.mode == "1:1" else None
        self.fallback = desk if rec.mode == "1:N" and config.claim.lookalike_fallback else None
        self.badge = badge
        self.kiosk = self._kiosk(challenge, zone)
        self.enroller = Enroller(
            store=store,
            key=key,
            embedder=vision.pipeline,
            model=vision.template_model,
            clock=clock,
            settings=config.enrolment,
            gallery=vision.gallery,
            same_person_threshold=vision.same_person_threshold,
        )
        # The courier shares the stop event: one signal ends the kiosk loop and the sync together.
        self.stop_event = courier.stop if courier is not None else threading.Event()
        self.courier = courier
        self._thread: threading.Thread | None = None
        self._parts = RunningParts()  # the panel's server, the courier's thread; stop() closes them
        self._marker = _templates_marker(store)
        self.people = load_gallery(store, key, vision.gallery, vision.template_model)
        self.failure: BaseException | None = None
        self.config_path: Path | None = None  # the settings page saves here (open_terminal sets it)
        # The courier runs as its own process (``--only kiosk`` beside ``--only courier``): its status file.
        self.courier_elsewhere = False
        self.restart_requested = False  # the settings page asked for a clean restart
        self.live: LiveServer | None = None  # ``--only kiosk``: the panel process reads the live state here

    def _kiosk(self, challenge: TurnRule | None, zone: ZoneInfo) -> Kiosk:
        """The kiosk loop wired to this terminal's camera, vision, store, GPIO, screen and claims."""
        config, rec, vision, gpio = self.config, self.config.recognition, self.vision, self.gpio
        camera, store, clock, badge = self.camera, self.store, self.clock, self.badge
        return Kiosk(
            device_id=config.device.id,
            camera=camera,
            pipeline=vision.pipeline,
            gallery=vision.gallery,
            decision=Decision(
                confirm_frames=rec.confirm_frames,
                liveness_frames=rec.liveness_frames,
                liveness_threshold=rec.liveness_threshold,
                challenge=challenge, fusion=rec.liveness_fusion,
            ),
            rules=PunchRules(config.attendance, zone),
            store=store,
            clock=clock,
            feedback=gpio.feedback,
            screen=self.screen,
            models=vision.models,
            zone=zone,
            directions=gpio.buttons,
            snapshots=self.snapshots if config.attendance.snapshots else None,
            claims=self.claims, fallback=self.fallback,
            badge=badge,
        )

    # -- health and panel ------------------------------------------------------------------------------
    def health(self) -> Health:
        report = collect(
            self.config.device.id,
            self.store,
            self.config.device.state_dir,
            self.clock,
            camera_status=self.camera.status,
            models=self.vision.models,
            disk_alert_fraction=self.config.sync.backlog_alert_fraction,
        )
        problems = list(report.problems)
        if self.badge is not None and self.badge.status() != "ok":
            problems.append(f"badge reader: {self.badge.status()}")
        if self.courier is not None:
            problems += [f"sync: {p}" for p in self.courier.problems]
        elif self.courier_elsewhere:
            problems += status_problems(self.config.device.state_dir, time.time())
        return report if problems == report.problems else dataclasses.replace(report, problems=problems)

    def app(self) -> Any:
        from device.panel.app import create_app
        from device.panel.kiosk import kiosk_router
        from device.panel.metrics import terminal_metrics
        from device.panel.site_admin import admin_router

        language = self.config.device.language
        router = kiosk_router(self.screen, default_language=language,
                              metrics=lambda: self.kiosk.counters().as_dict(),
                              claims=(desk := self.claims or self.fallback), claim=self.kiosk.claim if desk else None,
                              access_token=self.config.kiosk.access_token, timezone=self.config.device.timezone)
        enrol = admin_router(self, self.config_path)
        metrics = terminal_metrics(self)  # GET /metrics (Prometheus); the kiosk loop feeds its latency
        return create_app(health=self.health, default_language=language, extra_routers=[router, enrol, metrics])

    # -- life cycle ------------------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            self.kiosk.run(stop_event=self.stop_event)
        except EdgehrError as exc:
            # A broken camera or model stops the kiosk: say so on the screen and in the log; the process
            # then exits non-zero so systemd restarts it (and the health page shows the cause meanwhile).
            self.failure = exc
            self.screen.set_status(f"error: {exc.code}")
            log.error("kiosk loop stopped: %s", exc)
            self.stop_event.set()

    def start(self, *, panel: bool = True, live: bool = False) -> None:
        """``live`` (``--only kiosk``, no ``panel``): the panel process reads the live state over the kiosk's
        socket (device/panel/live.py)."""
        if panel:
            self._parts.serve(self.app(), self.config.panel)
        if live:
            from device.panel.live import kiosk_answer
            from device.panel.live_socket import LiveServer

            self.live = LiveServer(self.config.device.state_dir, kiosk_answer(self, self.request_restart))
            self.live.start()
        self._thread = threading.Thread(target=self._loop, name="kiosk", daemon=True)
        self._thread.start()
        if self.courier is not None:
            self._parts.courier_thread = self.courier.start_thread()
        log.info("terminal running", extra={"device_id": self.config.device.id, "people": self.people})

    def request_restart(self) -> None:
        """Saved settings (the panel process asked): stop cleanly; ``run_device`` re-executes the command."""
        log.info("restart requested by the panel process (settings saved)")
        self.restart_requested = True
        self.stop_event.set()

    def check_gallery(self) -> bool:
        """Rebuild the gallery if templates changed in the store (e.g. an erasure from the server)."""
        marker = _templates_marker(self.store)
        if marker == self._marker:
            return False
        self._marker = marker
        stored = {t.employee_no for t in load_templates(self.store, self.key, self.vision.template_model)}
        for employee_no in self._known - stored:
            self.vision.gallery.remove(employee_no)
        self.people = load_gallery(self.store, self.key, self.vision.gallery, self.vision.template_model)
        return True

    def enrol_from_camera(
        self, employee_no: str, *, actor: str, frames: int = 30, timeout_seconds: float = 10.0
    ) -> EnrolmentReport:
        """Enrol the person standing at the terminal from its camera (consent must already be recorded).

        Borrows ``frames`` frames from the running kiosk loop; the enroller keeps the best live ones.
        """
        self.enroller.require_consent(employee_no)
        images = self.kiosk.borrow_frames(frames, timeout_seconds=timeout_seconds)
        return self.enroller.enrol_frames(
            employee_no,
            images,
            analyser=self.vision.pipeline,
            liveness_threshold=self.config.recognition.liveness_threshold,
            actor=actor,
        )

    @property
    def _known(self) -> set[str]:
        rows = self.store.conn.execute("SELECT employee_no FROM employees").fetchall()
        return {r[0] for r in rows}

    def wait(self, timeout: float | None = None) -> None:
        """Block until stopped (signal, failure) or ``timeout``; keeps the gallery in step with the store."""
        waited = 0.0
        watchdog, frames = sdnotify.Watchdog(), -1
        while not self.stop_event.is_set():
            if timeout is not None and waited >= timeout:
                return
            # systemd's watchdog hears from the terminal only while the kiosk loop takes frames: a hung
            # loop or a camera that stopped delivering gets the service restarted (camera re-opened).
            seen = self.kiosk.counters().frames
            if seen != frames:
                watchdog.ping(time.monotonic())
                frames = seen
            self.stop_event.wait(GALLERY_CHECK_SECONDS)
            waited += GALLERY_CHECK_SECONDS
            if self._thread is not None and not self._thread.is_alive():
                self.stop_event.set()
            self.check_gallery()
            self.purge_snapshots_if_due()

    def purge_snapshots_if_due(self) -> bool:
        """Purge expired punch snapshots at most once per SNAPSHOT_PURGE_SECONDS; True when it ran."""
        now = self.clock.monotonic_ns()
        if self._next_purge_ns is not None and now < self._next_purge_ns:
            return False
        self._next_purge_ns = now + int(SNAPSHOT_PURGE_SECONDS * 1e9)
        try:
            result = self.snapshots.purge()
        except (EdgehrError, OSError) as exc:
            log.error("punch snapshot purge failed: %s", type(exc).__name__)
            return False
        if result.removed or result.orphans:
            log.info("punch snapshots purged", extra={"removed": result.removed, "orphans": result.orphans})
        return True

    def stop(self) -> None:
        """Stop the loop (it finishes its frame), the panel, then close camera, GPIO and store. Idempotent."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        closers = [self.camera.close, self.gpio.close, self.store.close]
        if self.live is not None:  # no panel request reaches a closed camera or store
            closers.insert(0, self.live.stop)
        if self.badge is not None:
            closers.insert(0, self.badge.close)
        if self.courier is not None:
            closers.append(self.courier.store.close)
        self._parts.stop(closers)


def open_terminal(
    config: DeviceConfig, *, clock: Clock | None = None, paced_replay: bool = True, config_path: Path | None = None,
    with_courier: bool = True,
) -> Terminal:
    """Open every part the configuration names; on any failure close what was opened and re-raise.

    With ``sync.enabled`` the terminal also runs the sync courier, on its own database connection so
    that sending never waits on the kiosk's writes (WAL lets one writer and readers work side by side).
    """
    from device.hardware.badge import open_badge_reader
    from device.hardware.camera import open_camera
    from device.hardware.gpio import open_gpio

    clock = clock or SystemClock()
    db_path, key_path = state_paths(config)
    opened: list[Any] = []
    try:
        store = open_store(db_path, check_same_thread=False)
        opened.append(store)
        key = load_or_create(key_path, sealed_rows=store.sealed_rows)
        vision = open_vision(config)
        camera = open_camera(config.camera, paced=paced_replay, clock=clock)
        opened.append(camera)
        gpio = open_gpio(config.gpio)
        opened.append(gpio)
        badge = open_badge_reader(config.claim) if config.recognition.mode == "1:1" else None
        if badge is not None:
            opened.append(badge)
        courier = None
        if config.sync.enabled and with_courier:
            from device.courier.courier import build

            courier_store = open_store(db_path, check_same_thread=False)
            opened.append(courier_store)
            courier = build(config, courier_store, stop=threading.Event(), config_path=config_path, clock=clock,
                            data_key=key)
        terminal = Terminal(config, store=store, key=key, camera=camera, gpio=gpio, vision=vision, clock=clock,
                            courier=courier, badge=badge)
        terminal.config_path = config_path
        return terminal
    except BaseException:
        for part in reversed(opened):
            with contextlib.suppress(EdgehrError, OSError):  # the original error is the one to report
                part.close()
        raise


def run_device(args: argparse.Namespace) -> int:
    """``edgehr device run --config FILE``: run until SIGINT/SIGTERM; exit 1 if the kiosk loop failed."""
    from device.config import load_device_config

    config = load_device_config(args.config)
    only = getattr(args, "only", "all")  # "kiosk" (kiosk loop, panel, screen) or "courier": separate units
    if only == "courier":
        from device.courier.courier import build
        from device.courier.process import run_courier

        return run_courier(config, args.config, build=build)
    if only == "panel":  # the kiosk page and admin panel beside ``--only kiosk`` (a terminal's, not a booth's)
        from device.panel.panel_process import run_panel

        return run_panel(config, args.config)
    if config.device.kind == "booth":  # an interview booth (device.booth.runner); the terminal is unchanged
        from device.booth.runner import run_booth

        return run_booth(config, args.config, with_courier=only == "all")
    terminal = open_terminal(config, config_path=args.config, with_courier=only == "all")
    terminal.courier_elsewhere = only == "kiosk" and config.sync.enabled
    stop = terminal.stop_event
    with stop_on_signals(stop):
        try:
            terminal.start() if only == "all" else terminal.start(panel=False, live=True)  # kiosk: its socket
            print(f"edgehr terminal {config.device.id} running; kiosk screen: "
                  f"http://{config.panel.host}:{config.panel.port}/kiosk", flush=True)
            sdnotify.ready(f"terminal {config.device.id} running")
            terminal.wait()
        finally:
            sdnotify.stopping()
            terminal.stop()
    if terminal.failure is not None:
        raise terminal.failure
    if terminal.restart_requested:  # new settings: start again as at boot (device/panel/site_admin.py)
        from device.panel.site_admin import reexec

        reexec()
    print("edgehr terminal stopped.", flush=True)
    return 0
