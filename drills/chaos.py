"""The chaos drill: real processes, injected faults, and a count that compares both databases.

Processes (each under one Supervisor, all on 127.0.0.1): mosquitto with mutual TLS, the ACL and
persistence; two ingest workers; on the device, the punch generator and the courier writing to and
reading from one SQLite file. Faults, spread over the run: SIGKILL of the device processes, broker
restarts (graceful and crash, alternately), SIGKILL of an ingest worker, the whole server down for a
while, and bad messages published straight to the broker (a duplicate and a replay of a captured
envelope, a tampered envelope, and a message from an unregistered device with a valid certificate).

At the end the device's database (punches + outbox) is compared with the server's: ``lost`` and
``duplicates`` must be 0.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import EdgehrError
from core.supervisor import Supervisor
from device.courier.records import punch_record
from drills.chaos_site import Site, build_site, python_argv, python_env
from drills.punchgen import make_punch
from fleet.broker import Mosquitto
from fleet.pki import CertFiles
from sync.backoff import Backoff
from sync.keyfiles import load_peer_keys
from sync.mqtt import Endpoint, MqttLink
from sync.protocol import (
    DeviceChannel,
    Identity,
    LocalKeys,
    MessageType,
    RecordsBody,
    Stamp,
    header_length,
    message_topic,
)
from sync.server.ingest_keys import server_keys_path
from sync.server.store import open_hr_store

log = logging.getLogger(__name__)

DEVICE = "site1-gate-a"
REPLAY_ATTEMPTS = 5
ROGUE = "rogue-device"
WORKERS = ("ingest-1", "ingest-2")


@dataclass(frozen=True)
class ChaosPlan:
    records: int = 2000
    device_kills: int = 3
    broker_restarts: int = 2
    worker_kills: int = 2
    server_down_seconds: float = 5.0
    bad_messages: bool = True
    rate: float = 100.0  # punches per second written by the generator
    ack_timeout_seconds: float = 2.0
    drain_timeout_seconds: float = 180.0


@dataclass
class Drill:
    site: Site
    supervisor: Supervisor
    broker: Mosquitto
    plan: ChaosPlan
    faults: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    captured: list[bytes] = field(default_factory=list)
    links: list[MqttLink] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    impostor: MqttLink | None = None
    replay_attempts: int = 0
    bad_attempts: int = 0

    # -- processes --------------------------------------------------------------------------------

    def start_worker(self, name: str) -> None:
        self.supervisor.start(
            name,
            python_argv("sync.server.ingest", "--config", str(self.site.server_config_path), "--worker-id", name),
            env=python_env(),
        )

    def start_device(self) -> None:
        device = self.site.devices[DEVICE]
        self.supervisor.start(
            "punchgen",
            python_argv(
                "drills.punchgen",
                "--database",
                str(device.database),
                "--device-id",
                DEVICE,
                "--count",
                str(self.plan.records),
                "--rate",
                str(self.plan.rate),
            ),
            env=python_env(),
        )
        self.supervisor.start(
            "courier",
            python_argv(
                "device.courier.courier",
                "--config",
                str(device.config_path),
                "--ack-timeout",
                str(self.plan.ack_timeout_seconds),
            ),
            env=python_env(),
        )

    def wait_logged(self, name: str, text: str, timeout: float = 30.0) -> None:
        child = self.supervisor.children[name]
        deadline = time.monotonic() + timeout
        while text not in (child.log_path.read_text(errors="replace") if child.log_path.exists() else ""):
            if time.monotonic() > deadline or not child.running():
                raise EdgehrError(f"{name} did not log {text!r} in time.", f"Read its log: {child.log_path}")
            time.sleep(0.1)

    # -- faults -----------------------------------------------------------------------------------

    def kill_device(self) -> None:
        for name in ("punchgen", "courier"):
            self.supervisor.kill(name)
        self.pause(0.3)
        self.start_device()
        self.faults["device-kill"] += 1

    def restart_broker(self) -> None:
        if self.faults["broker-restart"] % 2:
            self.broker.kill()  # a crash: what mosquitto had not saved is gone
            self.broker.start()
        else:
            self.broker.restart()
        self.faults["broker-restart"] += 1

    def kill_worker(self) -> None:
        name = WORKERS[self.faults["worker-kill"] % len(WORKERS)]
        self.supervisor.kill(name)
        self.pause(0.3)
        self.start_worker(name)
        self.faults["worker-kill"] += 1

    def server_down(self) -> None:
        for name in WORKERS:
            self.supervisor.kill(name)
        self.pause(self.plan.server_down_seconds)
        for name in WORKERS:
            self.start_worker(name)
        self.faults["server-down"] += 1

    # -- bad messages -----------------------------------------------------------------------------

    def _link(self, certs: CertFiles, client_id: str) -> MqttLink:
        endpoint = Endpoint("127.0.0.1", self.site.broker_port, True, self.site.ca.cert_path, certs.cert, certs.key)
        link = MqttLink(endpoint, client_id, stop=self.stop, backoff=Backoff(0.2, 1.0), session_expiry_seconds=0)
        self.links.append(link)
        return link

    def open_tap(self) -> MqttLink:
        """A non-shared subscriber with the ingest identity: copies of the device's envelopes."""
        tap = self._link(self.site.ingest_certs, "chaos-tap")
        tap.subscribe(message_topic(DEVICE, MessageType.RECORDS), qos=1)
        return tap

    def poll_links(self) -> None:
        for link in self.links:
            for message in link.poll(0.0):
                if len(self.captured) < 50:
                    self.captured.append(message.payload)

    def pause(self, seconds: float) -> None:
        """Wait while keeping the drill's own MQTT links alive."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.poll_links()
            time.sleep(0.02)

    def publish_connected(self, link: MqttLink, topic: str, payload: bytes) -> None:
        deadline = time.monotonic() + 30
        while not link.connected:
            if time.monotonic() > deadline:
                raise EdgehrError("The drill's injector could not connect to the broker.", "Read the broker log.")
            self.pause(0.05)
        link.publish(topic, payload)
        self.pause(0.2)

    def inject_bad_messages(self) -> None:
        deadline = time.monotonic() + 30
        while not self.captured:
            if time.monotonic() > deadline:
                raise EdgehrError("The drill captured no envelope to replay.", "Read the courier log.")
            self.pause(0.05)
        self.impostor = self._link(self.site.devices[DEVICE].certs, "chaos-inject")
        for _ in range(2):
            self.publish_connected(self.impostor, message_topic(DEVICE, MessageType.RECORDS), self.captured[-1])
            self.injected["duplicate"] += 1
        self.send_bad("tampered")
        self.send_bad("unknown-device")

    def send_bad(self, kind: str) -> None:
        """Publish one bad message: a tampered copy of a captured envelope, or a stranger's sealed punch.

        ``injected`` counts each kind once (it is one fault); ``bad_attempts`` counts every sending, since
        the final check sends again one that a crashed broker lost (see ``run``).
        """
        if self.impostor is None:
            raise EdgehrError("Bad messages need the captured envelopes first.", "Call inject_bad_messages before.")
        if kind == "tampered":
            tampered = bytearray(self.captured[-1])
            tampered[header_length(DEVICE) + 3] ^= 0x01
            self.publish_connected(self.impostor, message_topic(DEVICE, MessageType.RECORDS), bytes(tampered))
        else:
            rogue = self._link(self.site.client_certs(ROGUE), f"device-{ROGUE}-{self.bad_attempts}")
            channel = DeviceChannel(
                ROGUE, LocalKeys(Identity.generate()), load_peer_keys(server_keys_path(self.site.server_state))
            )
            punch = punch_record(1, make_punch(1, int(time.time() * 1000)), ROGUE)
            sealed = channel.seal(RecordsBody(records=[punch]), seq=1, stamp=Stamp.now(False))
            self.publish_connected(rogue, sealed.topic, sealed.payload)
        self.injected[kind] = 1
        self.bad_attempts += 1

    def inject_replay(self) -> None:
        """Publish the first captured envelope again, long after the server stored and acked it."""
        if self.impostor is None or not self.captured:
            raise EdgehrError("A replay needs the injected messages first.", "Call inject_bad_messages before.")
        self.publish_connected(self.impostor, message_topic(DEVICE, MessageType.RECORDS), self.captured[0])
        self.injected["replay"] = 1
        self.replay_attempts += 1


# -- counting ---------------------------------------------------------------------------------------


def device_counts(database: Path) -> tuple[dict[int, tuple[str, str, int]], int]:
    """Punches the device holds durably, by outbox sequence, and its undelivered backlog."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT o.seq, p.employee_no, p.direction, p.device_time_ms FROM punches p"
            " JOIN outbox o ON o.ref = p.uid AND o.type = 'punch'"
        ).fetchall()
        backlog = int(conn.execute("SELECT count(*) FROM outbox WHERE delivered_at_ms IS NULL").fetchone()[0])
    finally:
        conn.close()
    return {int(r[0]): (str(r[1]), str(r[2]), int(r[3])) for r in rows}, backlog


def device_backlog(database: Path) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE delivered_at_ms IS NULL").fetchone()[0])
    finally:
        conn.close()


def device_punches(database: Path) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM punches").fetchone()[0])
    except sqlite3.OperationalError:  # the generator has not created the schema yet
        return 0
    finally:
        conn.close()


def compare(site: Site, device_id: str) -> dict[str, Any]:
    """Device database against server database: records, stored, lost, duplicates, rejections."""
    on_device, backlog = device_counts(site.devices[device_id].database)
    store = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    try:
        with store.db.read() as tx:
            rows = tx.execute("SELECT seq FROM records WHERE device_id = ?", (device_id,)).all()
            record_seqs = [int(r[0]) for r in rows]
            punches = tx.execute(
                "SELECT seq, employee_no, direction, device_time_ms, uid FROM punches WHERE device_id = ?", (device_id,)
            ).all()
            rejections = tx.execute("SELECT reason, sum(count) FROM rejections GROUP BY reason").all()
    finally:
        store.close()
    stored_seqs = set(record_seqs)
    server_punches = {int(p[0]): (str(p[1]), str(p[2]), int(p[3])) for p in punches}
    # The schema forbids these (primary key / unique constraints); counted anyway, from the rows.
    duplicates = (
        (len(record_seqs) - len(stored_seqs))
        + (len(punches) - len({p[0] for p in punches}))
        + (len(punches) - len({p[4] for p in punches}))
    )
    counts = {str(r[0]): int(r[1]) for r in rejections}
    duplicate_deliveries = counts.pop("duplicate", 0)
    lost = sorted(set(on_device) - stored_seqs)
    mismatched = [seq for seq, row in on_device.items() if seq in server_punches and server_punches[seq] != row]
    return {
        "records": len(on_device),
        "stored": len(stored_seqs & set(on_device)),
        "lost": len(lost),
        "lost_seqs": lost[:20],
        "duplicates": duplicates,
        "duplicate_deliveries": duplicate_deliveries,
        "mismatched": len(mismatched),
        "unexpected_on_server": len(stored_seqs - set(on_device)),
        "rejected": counts,
        "device_backlog": backlog,
    }


# -- the drill ---------------------------------------------------------------------------------------


def _schedule(plan: ChaosPlan) -> list[str]:
    """Fault kinds interleaved so that each kind is spread over the run."""
    queues = {
        "device-kill": plan.device_kills,
        "broker-restart": plan.broker_restarts,
        "worker-kill": plan.worker_kills,
        "server-down": 1 if plan.server_down_seconds > 0 else 0,
        "inject": 1 if plan.bad_messages else 0,
    }
    order: list[str] = []
    while any(queues.values()):
        for kind in queues:
            if queues[kind]:
                order.append(kind)
                queues[kind] -= 1
    return order


def run_chaos(plan: ChaosPlan, folder: Path, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    started = time.monotonic()
    site = build_site(folder / "site", (DEVICE,), workers=len(WORKERS))
    supervisor = Supervisor(folder / "logs")
    # The broker has a supervisor of its own: its readiness check must not trip over the generator's
    # normal exit once it has written every punch.
    broker_supervisor = Supervisor(folder / "logs")
    site.broker_only.append(ROGUE)  # the broker lets it in: the server must be the one to refuse it
    broker = site.broker(broker_supervisor)
    drill = Drill(site, supervisor, broker, plan)
    try:
        broker.start()
        for name in WORKERS:
            drill.start_worker(name)
        for name in WORKERS:
            drill.wait_logged(name, "MQTT link to")
        tap = drill.open_tap() if plan.bad_messages else None
        while tap is not None and not tap.connected:
            drill.pause(0.05)
        drill.start_device()
        events = _schedule(plan)
        spacing = max(plan.records / plan.rate / (len(events) + 1), 1.5)
        actions: dict[str, Callable[[], None]] = {
            "device-kill": drill.kill_device,
            "broker-restart": drill.restart_broker,
            "worker-kill": drill.kill_worker,
            "server-down": drill.server_down,
            "inject": drill.inject_bad_messages,
        }
        for kind in events:
            drill.pause(spacing)
            progress(f"fault: {kind}")
            actions[kind]()
        database = site.devices[DEVICE].database
        deadline = time.monotonic() + plan.drain_timeout_seconds
        while device_punches(database) < plan.records or device_backlog(database) > 0:
            if time.monotonic() > deadline:
                break  # reported below as a backlog and lost records, never hidden
            if not supervisor.children["punchgen"].running() and device_punches(database) < plan.records:
                drill.start_device()  # the generator exits only when done; a crash is restarted
            drill.pause(0.2)
        replay_counted = None
        if plan.bad_messages:
            # The replay, sent after every fault, must be recognised and counted once it reaches a worker, and
            # so must the tampered and the stranger's message sent during the faults. After a crashed
            # mosquitto 2.0 restores its sessions, a shared-subscription group can hand one message to a
            # member that never gets it, and a message acked by a broker that is SIGKILLed before its next
            # save is gone (the courier's own records are resent until the server acks them, so nothing is
            # lost; a one-off bad message is): the drill sends a missing one again, at most
            # REPLAY_ATTEMPTS times, and reports how many sendings it took.
            before = compare(site, DEVICE)["duplicate_deliveries"]
            expected = {"bad-signature": "tampered", "unknown-device": "unknown-device"}
            replay_counted = False
            for _ in range(REPLAY_ATTEMPTS):
                if not replay_counted:
                    drill.inject_replay()
                wait_deadline = time.monotonic() + 10
                missing = list(expected)
                while time.monotonic() < wait_deadline:
                    state = compare(site, DEVICE)
                    replay_counted = state["duplicate_deliveries"] > before
                    missing = [k for k in expected if state["rejected"].get(k, 0) < 1]
                    if replay_counted and not missing:
                        break
                    drill.pause(0.2)
                if replay_counted and not missing:
                    break
                for reason in missing:
                    drill.send_bad(expected[reason])
        result = compare(site, DEVICE)
    finally:
        drill.stop.set()
        for link in drill.links:
            link.close()
        supervisor.stop_all(grace=5.0)
        broker_supervisor.stop_all(grace=5.0)
    result.update(
        {
            "seconds": round(time.monotonic() - started, 1),
            "faults": dict(drill.faults),
            "injected": dict(drill.injected),
            "server_down_seconds": plan.server_down_seconds,
            "replay_counted": replay_counted,
            "replay_attempts": drill.replay_attempts,
            "bad_message_attempts": drill.bad_attempts,
            "logs": str(folder / "logs"),
        }
    )
    return result


def handle(args: Any) -> int:
    """``edgehr chaos``: run the drill and print one JSON object (or a short table)."""
    plan = ChaosPlan(
        records=args.records,
        device_kills=args.device_kills,
        broker_restarts=args.broker_restarts,
        worker_kills=args.worker_kills,
        server_down_seconds=args.server_down_seconds,
        rate=args.rate,
    )
    folder = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="edgehr-chaos-"))
    result = run_chaos(plan, folder, progress=lambda text: log.info("%s", text))
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key in ("records", "stored", "lost", "duplicates", "duplicate_deliveries", "rejected", "seconds", "faults"):
            print(f"{key:>22}  {result[key]}")
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 else 1
