"""A booth, assembled from its configuration: store, banks, recognisers, microphone, the flow, its screen,
the courier (interview-result up; candidate lists and erasures down) and the retention job.

``run_booth`` is what ``edgehr device run`` runs when ``device.kind = "booth"``; the terminal is untouched.
On start an interrupted session is offered for resumption (or closed when too old).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import sdnotify
from core.clock import Clock, SystemClock
from core.errors import EdgehrError
from core.signals import stop_on_signals
from device.booth.flow import Booth
from device.booth.parts import BankShelf, EngineCache, Microphones
from device.booth.retention import enforce
from device.config.device import DeviceConfig
from device.health import Health, collect
from device.running import RunningParts
from device.store import Store, open_store

if TYPE_CHECKING:
    from core.datakey import DataKey
    from device.courier.courier import Courier

log = logging.getLogger(__name__)
TICK_SECONDS = 0.2
RETENTION_SECONDS = 3600.0


class BoothRunner:
    def __init__(self, config: DeviceConfig, *, store: Store, clock: Clock, courier: Courier | None = None,
                 paced_replay: bool = True, engine: str | None = None, data_key: DataKey | None = None) -> None:
        self.config, self.store, self.clock, self.courier = config, store, clock, courier
        state = config.device.state_dir
        self.camera: Any = None
        watch_factory = identity = None
        if config.booth.integrity_camera or config.booth.identity_check:  # flags for the reviewer, never a score
            watch_factory, identity = self._vision(paced_replay, data_key)
        self.booth = Booth(store=store, clock=clock, shelf=BankShelf.load(config.booth.banks_dir),
                           settings=config.booth, engines=EngineCache(config.asr, engine),
                           microphones=Microphones(config.microphone, paced=paced_replay),
                           audio_dir=state / "interviews", frames_per_chunk=config.microphone.frames_per_chunk,
                           camera=self.camera, watch_factory=watch_factory, identity=identity)
        self.stop_event = courier.stop if courier is not None else threading.Event()
        self._parts = RunningParts()  # the panel's server, the courier's thread; stop() closes them
        self._next_retention = 0.0

    def _vision(self, paced_replay: bool, data_key: DataKey | None) -> tuple[Any, Any]:
        """The camera and face pipeline, shared by the integrity watch and the identity check (each if on)."""
        from device.attendance.vision_parts import open_vision
        from device.booth.identity import IdentityCheck, LockedCamera, PipelineProbe
        from device.booth.integrity import IntegrityWatch, PipelineFaces
        from device.hardware.camera import open_camera
        from device.store import candidate_templates

        vision = open_vision(self.config)
        self.camera = LockedCamera(open_camera(self.config.camera, paced=paced_replay, clock=self.clock))
        faces, threshold = PipelineFaces(vision.pipeline), vision.same_person_threshold
        booth = self.config.booth
        watch = (lambda counts: IntegrityWatch(faces, threshold, counts)) if booth.integrity_camera else None
        identity = None
        if self.config.booth.identity_check and data_key is not None:
            key = data_key
            identity = IdentityCheck(camera=self.camera, probe=PipelineProbe(vision.pipeline),
                                     model=vision.template_model, threshold=threshold,
                                     templates=lambda cid: candidate_templates.load(self.store, key, cid),
                                     frames=self.config.booth.identity_frames, every_seconds=0.2)  # fmt: skip
        return watch, identity

    def health(self) -> Health:
        asr = self.config.asr  # the recognisers configured per language, and the question banks on the shelf
        models = {"asr-en": asr.engine_en, "asr-zh": asr.engine_zh,
                  **{f"bank:{name}": f"{len(bank.questions)} questions"
                     for name, bank in sorted(self.booth.shelf.banks.items())}}
        return collect(self.config.device.id, self.store, self.config.device.state_dir, self.clock,
                       camera_status=lambda: "not used", models=models,
                       disk_alert_fraction=self.config.sync.backlog_alert_fraction)

    def app(self) -> Any:
        from device.panel.app import create_app
        from device.panel.booth import booth_router
        from device.panel.site_admin import booth_admin_router

        router = booth_router(self.booth, device_name=self.config.device.name,
                              default_language=self.config.device.language,
                              access_token=self.config.kiosk.access_token)
        admin = booth_admin_router(self)  # /admin/: sign-in, accounts, dashboard, booth sessions, audit log
        return create_app(health=self.health, default_language=self.config.device.language,
                          extra_routers=[router, admin])

    def start(self, *, panel: bool = True) -> None:
        self.booth.recover()
        self.retention_if_due(0.0)
        if panel:
            self._parts.serve(self.app(), self.config.panel)
        if self.courier is not None:
            self._parts.courier_thread = self.courier.start_thread()
        log.info("booth running", extra={"device_id": self.config.device.id,
                                         "banks": sorted(self.booth.shelf.banks)})

    def retention_if_due(self, now: float) -> None:
        if now < self._next_retention:
            return
        self._next_retention = now + RETENTION_SECONDS
        try:
            enforce(self.store, self.clock, self.config.booth)
        except (EdgehrError, OSError) as exc:
            log.error("booth retention failed: %s", exc)

    def wait(self, timeout: float | None = None) -> None:
        waited = 0.0
        watchdog = sdnotify.Watchdog()
        while not self.stop_event.is_set() and (timeout is None or waited < timeout):
            self.stop_event.wait(TICK_SECONDS)
            waited += TICK_SECONDS
            try:
                self.booth.tick()
            except EdgehrError as exc:
                log.error("booth step failed: %s", exc)
            watchdog.ping(waited)
            self.retention_if_due(waited)

    def stop(self) -> None:
        self.stop_event.set()
        self.booth.close()
        closers = [self.store.close] if self.camera is None else [self.camera.close, self.store.close]
        if self.courier is not None:
            closers.append(self.courier.store.close)
        self._parts.stop(closers)


def open_booth(config: DeviceConfig, *, clock: Clock | None = None, config_path: Path | None = None,
               paced_replay: bool = True, with_courier: bool = True) -> BoothRunner:
    from core.datakey import load_or_create

    clock = clock or SystemClock()
    # The terminal's layout (device.runner.state_paths): the booth's state folder holds the same files.
    db_path, key_path = config.device.state_dir / "device.db", config.device.state_dir / "keys" / "data.key"
    store = open_store(db_path, check_same_thread=False)
    try:
        key = load_or_create(key_path, sealed_rows=store.sealed_rows)
        courier = None
        if config.sync.enabled and with_courier:  # else edgehr-courier.service runs it (--only courier)
            from device.courier.courier import build

            courier_store = open_store(db_path, check_same_thread=False)
            courier = build(config, courier_store, stop=threading.Event(), config_path=config_path, clock=clock,
                            data_key=key)
        return BoothRunner(config, store=store, clock=clock, courier=courier, paced_replay=paced_replay,
                           data_key=key)
    except BaseException:
        store.close()
        raise


def run_booth(config: DeviceConfig, config_path: Path | None, *, with_courier: bool = True) -> int:
    runner = open_booth(config, config_path=config_path, with_courier=with_courier)
    with stop_on_signals(runner.stop_event):
        try:
            runner.start()
            print(f"edgehr booth {config.device.id} running; booth screen: "
                  f"http://{config.panel.host}:{config.panel.port}/booth", flush=True)
            sdnotify.ready(f"booth {config.device.id} running")
            runner.wait()
        finally:
            sdnotify.stopping()
            runner.stop()
    print("edgehr booth stopped.", flush=True)
    return 0
