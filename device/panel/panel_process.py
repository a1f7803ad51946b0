"""The panel as its own process (``edgehr device run --only panel``, edgehr-panel.service): the kiosk page and
the admin pages, beside the kiosk process (``--only kiosk``) that owns the camera, GPIO and kiosk loop.

Durable state comes from the shared SQLite database (WAL: the kiosk writes, the panel reads and enrols); the
kiosk's live state (screen, claims, counters, frames) comes over its socket (device/panel/live.py, whose
docstring lists every piece). The panel loads the vision models itself: enrolment from photos embeds here,
and enrolment from the camera embeds the frames it borrowed, so the kiosk loop never waits on an enrolment.
The gallery the enroller checks duplicates against follows the templates in SQLite, as the kiosk's does.

systemd hears WATCHDOG=1 while the web server's thread is alive; a kiosk process that is down does not stop
the panel: its pages say so (device/panel/live.py) and it recovers by itself when the kiosk answers again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from core import sdnotify
from core.clock import Clock, SystemClock
from core.datakey import DataKey, load_or_create
from core.errors import EdgehrError, InputError
from core.signals import stop_on_signals
from core.types import Image
from device.attendance.counters import KioskCounters
from device.attendance.enrolment import Enroller, EnrolmentReport
from device.attendance.vision_parts import VisionParts, open_vision
from device.config.device import DeviceConfig
from device.courier.status_file import status_problems
from device.health import Health, collect
from device.panel.live import KioskAway, RemoteKiosk
from device.running import RunningParts
from device.store import Store, open_store, outbox
from device.store.employees import load_templates
from device.store.snapshots import SnapshotStore
from device.terminal_gallery import load_gallery, templates_marker

log = logging.getLogger(__name__)

#: How often the panel checks whether templates changed (the kiosk's downlinks, its own enrolments).
CHECK_SECONDS = 1.0
KIOSK_DOWN = "kiosk: the kiosk process is not running"


class PanelProcess:
    def __init__(self, config: DeviceConfig, *, store: Store, key: DataKey, vision: VisionParts, clock: Clock,
                 config_path: Path | None) -> None:
        self.config, self.store, self.key, self.vision, self.clock = config, store, key, vision, clock
        self.config_path = config_path
        state = config.device.state_dir
        rec = config.recognition
        claims = rec.mode == "1:1" or (rec.mode == "1:N" and config.claim.lookalike_fallback)
        self.remote = RemoteKiosk(state, device_name=config.device.name, preview=config.kiosk.preview,
                                  claim=config.claim if claims else None)
        self.enroller = Enroller(store=store, key=key, embedder=vision.pipeline, model=vision.template_model,
                                 clock=clock, settings=config.enrolment, gallery=vision.gallery,
                                 same_person_threshold=vision.same_person_threshold)
        self.snapshots = SnapshotStore(store, key, state / "snapshots", clock,
                                       retention_days=config.attendance.snapshot_retention_days)
        self.stop_event = threading.Event()
        self.restart_requested = False
        self._parts = RunningParts()
        self._marker = templates_marker(store)
        self.people = load_gallery(store, key, vision.gallery, vision.template_model)

    def health(self) -> Health:
        report = collect(self.config.device.id, self.store, self.config.device.state_dir, self.clock,
                         camera_status=self.remote.camera_status, models=self.vision.models,
                         disk_alert_fraction=self.config.sync.backlog_alert_fraction)
        problems, ok = list(report.problems), report.ok
        if not self.remote.up():  # no faces are decided: not ok (503), as a kiosk whose camera failed
            problems.append(KIOSK_DOWN)
            ok = False
        if self.config.sync.enabled:
            problems += status_problems(self.config.device.state_dir, time.time())
        return report if problems == report.problems else dataclasses.replace(report, problems=problems, ok=ok)

    def frame(self) -> Image | None:
        try:
            frames = self.remote.frames(1, timeout_seconds=3.0)
        except KioskAway:
            return None
        return frames[0] if frames else None

    def enrol_from_camera(self, employee_no: str, *, actor: str, frames: int = 30) -> EnrolmentReport:
        """As Terminal.enrol_from_camera, with the frames borrowed over the kiosk's socket (KioskAway: 503)."""
        self.enroller.require_consent(employee_no)
        images = self.remote.frames(frames, timeout_seconds=10.0)
        return self.enroller.enrol_frames(employee_no, images, analyser=self.vision.pipeline,
                                          liveness_threshold=self.config.recognition.liveness_threshold, actor=actor)

    def restart(self) -> None:
        """Saved settings: the kiosk re-executes itself, then so does this process (run_panel)."""
        log.info("restart requested from the admin panel (settings saved)")
        with contextlib.suppress(KioskAway):  # a kiosk that is down starts with the new file anyway
            self.remote.restart()
        self.restart_requested = True
        self.stop_event.set()

    def counters(self) -> KioskCounters:
        raw = self.remote.counters()
        counters = KioskCounters()
        for name, value in raw.items():  # the names as_dict() gives; the kiosk down: all zero
            if name in KioskCounters.__dataclass_fields__ and isinstance(value, int | dict):
                setattr(counters, name, Counter(value) if isinstance(value, dict) else value)
        return counters

    def app(self) -> Any:
        from device.panel.admin_auth import AdminAuth, password_path
        from device.panel.app import create_app
        from device.panel.enrolment import enrolment_router
        from device.panel.kiosk import kiosk_router
        from device.panel.metrics import DeviceMetrics, DeviceSources, metrics_router
        from device.panel.site_admin import recent_errors
        from device.panel.terminal_tools import TerminalTools

        config, remote = self.config, self.remote
        kiosk = kiosk_router(remote.screen, default_language=config.device.language, metrics=remote.counters,
                             claims=remote.claims, claim=remote.claim if remote.claims else None,
                             access_token=config.kiosk.access_token, timezone=config.device.timezone)
        # GPIO belongs to the kiosk process: the diagnostics page shows the relay and buzzer as not used here.
        tools = TerminalTools(config=config, config_path=self.config_path, clock=self.clock, feedback=None,
                              frame=self.frame, restart=self.restart, errors=recent_errors())
        admin = enrolment_router(self.enroller, AdminAuth(password_path(config.device.state_dir)),
                                 default_language=config.device.language, snapshots=self.snapshots, tools=tools,
                                 camera=lambda no, actor: self.enrol_from_camera(no, actor=actor))

        def last_ack() -> float | None:
            at_ms = outbox.last_delivered_ms(self.store)
            return at_ms / 1000 if at_ms is not None else None

        metrics = DeviceMetrics(DeviceSources(device_id=config.device.id, health=self.health, counters=self.counters,
                                              last_ack=last_ack, now=lambda: self.clock.now().timestamp()))
        return create_app(health=self.health, default_language=config.device.language,
                          extra_routers=[kiosk, admin, metrics_router(metrics, token=config.panel.metrics_token)])

    def check_gallery(self) -> bool:
        marker = templates_marker(self.store)
        if marker == self._marker:
            return False
        self._marker = marker
        stored = {t.employee_no for t in load_templates(self.store, self.key, self.vision.template_model)}
        known = {r[0] for r in self.store.conn.execute("SELECT employee_no FROM employees").fetchall()}
        for employee_no in known - stored:
            self.vision.gallery.remove(employee_no)
        self.people = load_gallery(self.store, self.key, self.vision.gallery, self.vision.template_model)
        return True

    def start(self) -> None:
        self._parts.serve(self.app(), self.config.panel)

    def wait(self, timeout: float | None = None) -> None:
        waited, watchdog = 0.0, sdnotify.Watchdog()
        while not self.stop_event.is_set():
            if timeout is not None and waited >= timeout:
                return
            server = self._parts.server
            if server is not None and not server._thread.is_alive():  # uvicorn gave up (port, TLS files)
                log.error("the panel's web server stopped")
                self.stop_event.set()
                break
            watchdog.ping(time.monotonic())
            with contextlib.suppress(EdgehrError):
                self.check_gallery()
            self.stop_event.wait(CHECK_SECONDS)
            waited += CHECK_SECONDS

    def stop(self) -> None:
        self.stop_event.set()
        self._parts.stop([self.store.close])


def open_panel(config: DeviceConfig, *, config_path: Path | None, clock: Clock | None = None) -> PanelProcess:
    state = config.device.state_dir  # the paths of device.runner.state_paths (which imports this module)
    db_path, key_path = state / "device.db", state / "keys" / "data.key"
    store = open_store(db_path, check_same_thread=False)
    try:
        key = load_or_create(key_path, sealed_rows=store.sealed_rows)
        vision = open_vision(config)
        return PanelProcess(config, store=store, key=key, vision=vision, clock=clock or SystemClock(),
                            config_path=config_path)
    except BaseException:
        with contextlib.suppress(EdgehrError, OSError):
            store.close()
        raise


def run_panel(config: DeviceConfig, config_path: Path) -> int:
    """``edgehr device run --only panel``: serve until SIGINT/SIGTERM (re-executed after saved settings)."""
    if config.device.kind == "booth":
        raise InputError("--only panel is for a terminal: a booth serves its panel in its own process.",
                         "Run the booth with --only all.", code="only-panel-booth")
    panel = open_panel(config, config_path=config_path)
    with stop_on_signals(panel.stop_event):
        try:
            panel.start()
            print(f"edgehr panel {config.device.id} running; kiosk screen: "
                  f"http://{config.panel.host}:{config.panel.port}/kiosk", flush=True)
            sdnotify.ready(f"panel {config.device.id} running")
            panel.wait()
        finally:
            sdnotify.stopping()
            panel.stop()
    if panel.restart_requested:
        from device.panel.site_admin import reexec

        reexec()
    print("edgehr panel stopped.", flush=True)
    return 0
