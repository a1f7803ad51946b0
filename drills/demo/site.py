"""``edgehr demo``: a whole attendance site on 127.0.0.1, from a replayed camera to the HR timesheet.

First run: a site CA and certificates, mosquitto's TLS + ACL config, the server's and the terminal's
keys and configs (``drills.chaos_site.build_site``, the same code the fault drill uses), employees
enrolled from labelled photos through the terminal's own enrolment code with a consent record marked
as demo data, and the replay frames. Every run then starts mosquitto, the server (two ingest workers
and the HR API) and the terminal as supervised processes, prints where everything is, keeps a live
summary line, and stops them all on Ctrl-C (or after ``--seconds``). A second run reuses the state.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sqlite3
import sys
import threading
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EdgehrError
from core.paths import shared_dir, state_home
from core.signals import stop_on_signals

if TYPE_CHECKING:
    from core.supervisor import Supervisor
    from fleet.broker import Mosquitto

DEMO_DEVICE_ID = "demo-gate-1"
CONSENT_VERSION = "demo-consent-1"  # demo data: no real person signed anything
WANTED_PEOPLE = 6  # enrolled employees the replay shows
FRAMES_PER_IMAGE = 6  # camera frames per replayed scene
STAMP = "site.json"  # written last on a complete first run; its absence means "set up again"


@dataclass(frozen=True)
class Ports:
    panel: int
    server: int


def _write_toml(path: Path, data: dict[str, Any]) -> None:
    from device.courier.settings_file import render_toml
    from sync.keyfiles import write_atomic

    write_atomic(path, render_toml(data).encode())


def _configure(site_dir: Path, ports: Ports, camera: str | None, replay: Path,
               challenge: str = "off") -> tuple[Path, Path]:
    """Point the site's configs at this run's ports and camera; return (device config, server config)."""
    server_path = site_dir / "server.toml"
    server = tomllib.loads(server_path.read_text())
    server["api"]["port"] = ports.server
    server["server"]["name"] = "edgehr demo"
    _write_toml(server_path, server)

    device_path = site_dir / "devices" / DEMO_DEVICE_ID / "device.toml"
    device = tomllib.loads(device_path.read_text())
    device["device"].update(name="Demo gate", language="en", timezone="Asia/Shanghai")
    if camera is None:
        device["camera"] = {"source": "folder", "path": str(replay), "fps": 15.0, "loop": True,
                            "frames_per_image": FRAMES_PER_IMAGE}
    else:
        device["camera"] = {"source": "opencv", "device": int(camera) if camera.isdigit() else camera}
    device["panel"] = {"host": "127.0.0.1", "port": ports.panel}
    # Short enough that a looping replay shows people clocking out as well as in.
    device["attendance"] = {"direction": "alternate", "debounce_seconds": 20}
    # --challenge turn: after passive liveness the kiosk asks for a head turn (a still photo cannot pass).
    device.setdefault("recognition", {})["active_challenge"] = challenge
    device["logging"] = {"level": "INFO", "json_lines": True}  # the demo test reads the punch log lines
    _write_toml(device_path, device)
    return device_path, server_path


def _panel_admin(state: Path, info: dict[str, Any], device_config: Path) -> str:
    """The terminal panel's admin password: made at random once (never a default), kept in site.json (0600)."""
    import secrets

    from device.config import load_device_config
    from device.panel.admin_auth import password_path, write_password

    path = password_path(load_device_config(device_config).device.state_dir)
    if not info.get("panel_password") or not path.is_file():
        info["panel_password"] = secrets.token_urlsafe(12)
        write_password(path, info["panel_password"])
        _save_info(state, info)
    return str(info["panel_password"])


def _save_info(state: Path, info: dict[str, Any]) -> None:
    from sync.keyfiles import write_atomic

    # 0600 from the start: it holds the HR admin token and the terminal's admin password.
    write_atomic(state / STAMP, json.dumps(info).encode(), mode=0o600)
    (state / STAMP).chmod(0o600)


def _first_run(state: Path, faces: Path | None) -> dict[str, Any]:
    """Build the site, enrol the people, write the replay; return what later runs need to know."""
    from core.clock import SystemClock
    from core.datakey import load_or_create
    from core.images import load_image
    from device.attendance.enrolment import Enroller
    from device.attendance.vision_parts import open_vision
    from device.config import load_device_config
    from device.runner import state_paths
    from device.store import open_store
    from drills.chaos_site import build_site
    from drills.demo import dataset, replay
    from drills.vision.attacks import printed_photo, screen_replay
    from sync.server.auth import create_token
    from sync.server.store import employees as hr_employees
    from sync.server.store import open_hr_store

    print("First run: creating the demo site's keys, certificates and configs...", flush=True)
    from drills.demo.booth import DEMO_BOOTH_ID

    site = build_site(state / "site", (DEMO_DEVICE_ID, DEMO_BOOTH_ID), workers=2)
    if faces is None:
        people, strangers = dataset.choose_people(shared_dir() / "datasets" / "faces" / "lfw-dev")
    else:
        people, strangers = dataset.own_people(faces), []

    config = load_device_config(site.devices[DEMO_DEVICE_ID].config_path)
    vision = open_vision(config)
    db_path, key_path = state_paths(config)
    store = open_store(db_path)
    hr = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    try:
        key = load_or_create(key_path, sealed_rows=store.sealed_rows)
        enroller = Enroller(store=store, key=key, embedder=vision.pipeline,
                            model=vision.template_model, clock=SystemClock(), settings=config.enrolment,
                            same_person_threshold=vision.same_person_threshold)
        enrolled: list[dataset.DemoPerson] = []
        for person in people:
            if len(enrolled) == WANTED_PEOPLE:
                break
            print(f"  enrolling {person.employee_no} {person.name}", flush=True)
            enroller.record_consent(person.employee_no, person.name, text_version=CONSENT_VERSION,
                                    recorded_by="demo", demo=True)
            report = enroller.enrol_photos(
                person.employee_no, [(Path(p).name, Path(p).read_bytes()) for p in person.enrol], actor="demo"
            )
            rejected = [f"{r.name}: {r.reason}" for r in report.images if r.reason]
            if rejected:
                print(f"    photos rejected: {', '.join(rejected)}", flush=True)
            if not report.enrolled:  # too few usable photos: unenrolled, like at a real site; shown as a stranger
                print(f"    not enrolled: {report.good} good photos of {report.needed} needed", flush=True)
                strangers.append(dataclasses.replace(person, employee_no="", replay=person.replay[:1]))
                continue
            hr_employees.create(hr, person.employee_no, person.name, actor="demo")
            enrolled.append(person)
        people = enrolled
        dataset.save(state / "people.json", people, strangers)
        token = create_token(hr, "admin", label="demo", actor="demo")
    finally:
        store.close()
        hr.close()

    # Attacks: an enrolled person's held-apart photo, printed and on a phone screen (synthetic).
    spoofs = []
    if people and people[0].replay:
        victim = load_image(Path(people[0].replay[0]))
        spoofs = [printed_photo(victim, seed=1), screen_replay(victim, seed=2)]
    manifest = replay.write_replay(state / "replay", people, strangers, spoofs)
    replay.save_manifest(state / "replay-manifest.json", manifest)
    info = {"token": token, "people": len(people), "strangers": len(strangers), "frames": len(manifest)}
    _save_info(state, info)
    return info


class Summary:
    """Counts read from the two databases and the terminal's metrics: the demo's live line."""

    def __init__(self, device_db: Path, server_db: Path, panel_url: str,
                 appearances: Appearances | None = None) -> None:
        self.device_db, self.server_db, self.panel_url = device_db, server_db, panel_url
        self.appearances = appearances
        self.frames = 0  # frames the terminal has processed (its metrics), for the appearance count

    def read(self) -> dict[str, int]:
        counts = {"punches": 0, "delivered": 0, "backlog": 0, "server": 0, "unknown": 0, "spoof": 0}
        with contextlib.suppress(sqlite3.Error), contextlib.closing(_readonly(self.device_db)) as db:
            counts["punches"] = db.execute("SELECT count(*) FROM punches").fetchone()[0]
            counts["delivered"], counts["backlog"] = db.execute(
                # delivered punches (enrolment records travel too); the backlog is every record not yet acked
                "SELECT coalesce(sum(type = 'punch' AND delivered_at_ms IS NOT NULL), 0),"
                " count(*) - count(delivered_at_ms) FROM outbox"
            ).fetchone()
        with contextlib.suppress(sqlite3.Error), contextlib.closing(_readonly(self.server_db)) as db:
            counts["server"] = db.execute("SELECT count(*) FROM punches").fetchone()[0]
        with contextlib.suppress(OSError, ValueError):
            with urllib.request.urlopen(f"{self.panel_url}/kiosk/metrics", timeout=2) as response:  # noqa: S310
                metrics = json.loads(response.read())
            counts["unknown"], counts["spoof"] = int(metrics.get("unknown", 0)), int(metrics.get("spoof", 0))
            self.frames = int(metrics.get("frames", 0))
        return counts

    def full_line(self) -> str:
        """The live line: the counts, then (replay only) the outcomes per appearance."""
        line = Summary.line(self.read())
        if self.appearances is None:
            return line
        return f"{line} | {self.appearances.update(self.frames).line()}"

    @staticmethod
    def line(c: dict[str, int]) -> str:
        return (f"punches on device {c['punches']} | delivered {c['delivered']} | stored on server {c['server']}"
                f" | unknown faces {c['unknown']} | spoof rejections {c['spoof']} | backlog {c['backlog']}")


class Appearances:
    """Outcomes per appearance of this run (drills.demo.appearances), read from the terminal's log."""

    def __init__(self, state: Path) -> None:
        from drills.demo import appearances, replay

        self.log = state / "logs" / "terminal.log"
        self.manifest = replay.load_manifest(state / "replay-manifest.json")
        self.offset = self.log.stat().st_size if self.log.exists() else 0  # earlier runs' decisions are theirs
        self.decisions: list[dict[str, Any]] = []
        self.tally = appearances.Tally()

    def update(self, frames_done: int) -> Any:
        from drills.demo import appearances

        found, self.offset = appearances.read_decisions(self.log, self.offset)
        self.decisions += found
        self.tally = appearances.tally(self.manifest, self.decisions, frames_done, FRAMES_PER_IMAGE)
        return self.tally


def _readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URLs the demo built itself
            return True
    except OSError:
        return False


def run_demo(args: argparse.Namespace) -> int:
    from core.supervisor import Supervisor
    from drills.chaos_site import python_env
    from sync.server.config import ServerConfig
    from sync.server.store.hr_store import database_url

    state: Path = (args.state or state_home() / "demo").resolve()
    if args.reset and state.exists():
        shutil.rmtree(state)
    if not (state / STAMP).exists() and state.exists():
        shutil.rmtree(state)  # an interrupted first run: start it again from nothing
    state.mkdir(parents=True, exist_ok=True)
    info = json.loads((state / STAMP).read_text()) if (state / STAMP).exists() else _first_run(state, args.faces)

    ports = Ports(panel=args.port, server=args.server_port)
    device_config, server_config = _configure(state / "site", ports, args.camera, state / "replay",
                                               getattr(args, "challenge", "off"))
    panel_password = _panel_admin(state, info, device_config)
    from core.config.loader import load_toml_model

    server = load_toml_model(server_config, ServerConfig)
    server_db = Path(database_url(server.server.database_url, server.server.state_dir).removeprefix("sqlite:///"))
    device_db = state / "site" / "devices" / DEMO_DEVICE_ID / "device.db"
    panel_url, server_url = f"http://127.0.0.1:{ports.panel}", f"http://127.0.0.1:{ports.server}"

    from drills.demo import booth

    booth_config = booth.configure(state / "site", state, booth.free_port())
    booth_url = f"http://127.0.0.1:{tomllib.loads(booth_config.read_text())['panel']['port']}" if booth_config else ""
    edgehr = [sys.executable, "-m", "cli.main"]
    env = python_env()
    # Read from the end of the terminal's log as it is now: the decisions of earlier runs are theirs.
    appearances = None if args.camera else Appearances(state)
    with stop_on_signals(threading.Event()) as stop, Supervisor(state / "logs") as supervisor:
        devices = [DEMO_DEVICE_ID] + ([booth.DEMO_BOOTH_ID] if booth_config else [])
        broker = demo_broker(state / "site", _broker_port(device_config), supervisor, devices)
        broker.start()
        supervisor.start("server", [*edgehr, "server", "run", "--config", str(server_config)], env=env)
        supervisor.start("terminal", [*edgehr, "--log-json", "device", "run", "--config", str(device_config)],
                         env=env)
        supervisor.wait_until(lambda: _http_ok(f"{server_url}/api/health"), 120, "the HR server")
        supervisor.wait_until(lambda: _http_ok(f"{panel_url}/api/health"), 120, "the terminal")
        if booth_config is not None:
            supervisor.start("booth", [*edgehr, "--log-json", "device", "run", "--config", str(booth_config)], env=env)
            supervisor.wait_until(lambda: _http_ok(f"{booth_url}/booth/state"), 180, "the interview booth")
        print("\nedgehr demo site is up (everything on 127.0.0.1):", flush=True)
        print(f"  kiosk screen      {panel_url}/kiosk", flush=True)
        print(f"  device health     {panel_url}/health", flush=True)
        print(f"  terminal admin    {panel_url}/admin   (user admin, password {panel_password})", flush=True)
        print(f"  HR server         {server_url}/   (sign in with the token below)", flush=True)
        print(f"  HR API            {server_url}/docs", flush=True)
        print(f"  device metrics    {panel_url}/metrics   (Prometheus; this machine only)", flush=True)
        print(f"  server metrics    {server_url}/api/metrics   (Prometheus; Authorization: Bearer <the token below>)",
              flush=True)
        print(f"  HR admin token    {info['token']}", flush=True)
        print(f"  state and logs    {state}", flush=True)
        autopilot = None
        if booth_config is not None:
            print(f"  interview booth   {booth_url}/booth   (a demo candidate answers from recordings)", flush=True)
            autopilot = booth.Autopilot(booth_url, server_url, info["token"], stop)
            autopilot.thread.start()
        print(f"  {info['people']} people enrolled, {info['strangers']} strangers and 2 synthetic attacks "
              f"replayed ({info['frames']} scenes). Ctrl-C stops everything.\n", flush=True)
        summary = Summary(device_db, server_db, panel_url, appearances)
        _live(summary, stop, args.seconds, supervisor, autopilot)
    if appearances is not None:
        print(f"\nappearances {json.dumps(appearances.tally.as_dict(), sort_keys=True)}", flush=True)
    print("\nedgehr demo site stopped.", flush=True)
    return 0


def demo_broker(site_dir: Path, port: int, supervisor: Supervisor | None = None,
                devices: list[str] | None = None) -> Mosquitto:
    """The site's mosquitto as ``drills.chaos_site.Site.broker`` makes it, from the files build_site left in
    ``site_dir``: mutual TLS checking the CA's CRL (a revoked certificate cannot connect), and the
    dynamic-security rules letting in the demo terminal."""
    from fleet.broker import BrokerTls, Mosquitto
    from fleet.pki import CertFiles, load_ca
    from fleet.revocation import ensure_crl

    pki = site_dir / "pki"
    ca = load_ca(pki / "ca")
    broker_files = CertFiles(pki / "broker" / "broker.crt", pki / "broker" / "broker.key")
    tls = BrokerTls(ca.cert_path, broker_files, ensure_crl(ca))
    return Mosquitto(site_dir / "broker", tls=tls, port=port, supervisor=supervisor,
                     devices=devices or [DEMO_DEVICE_ID])


def _broker_port(device_config: Path) -> int:
    return int(tomllib.loads(device_config.read_text())["sync"]["broker_port"])


def _live(summary: Summary, stop: threading.Event, seconds: float | None, supervisor: Any,
          autopilot: Any = None) -> None:
    """Refresh the summary line until stopped; a child that dies stops the demo with its log named."""
    tty = sys.stdout.isatty()
    waited, last = 0.0, ""
    told = False
    while not stop.is_set() and (seconds is None or waited < seconds):
        stop.wait(1.0)
        waited += 1.0
        for child in supervisor.children.values():
            if child.process is not None and not child.running():
                raise EdgehrError(f"The demo's {child.name} process stopped unexpectedly.",
                                  f"Read its log: {child.log_path}")
        if autopilot is not None and not told and (autopilot.error or autopilot.reached_hr()):
            told = True
            said = (f"interview booth: session {autopilot.session_id} is in HR's interview report"
                    if not autopilot.error else f"interview booth: {autopilot.error}")
            print(f"\n{said}" if tty else said, flush=True)
        line = summary.full_line()
        if tty:
            print(f"\r{line}", end="", flush=True)
        elif line != last:
            print(line, flush=True)
        last = line
    os.sync()
