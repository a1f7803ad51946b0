"""An ingest worker: device uplink from the broker into the HR store, acknowledgements and commands back.

Several workers share the uplink through an MQTT 5 shared subscription
(``$share/<group>/edgehr/v1/+/up/#``), each with its own persistent session. For every message:
verify and decrypt it (unknown devices, bad signatures, tampering are refused and counted by
reason), check the topic names the envelope's device, store its records idempotently in one
transaction, and only after that commit publish an ``ack`` naming the stored and duplicate sequences
and PUBACK the message. A worker killed mid-message has sent no ack: the courier sends again.

Workers also send the store's pending downlink commands (erase, gallery, config...) to devices and
record the device's confirmations (``ack-downlink``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.datakey import DataKey
from core.errors import EdgehrError
from core.signals import stop_on_signals
from sync.backoff import Backoff
from sync.keyfiles import identity_path, load_or_create_identity, public_json, write_atomic
from sync.mqtt import Endpoint, MqttLink, Received
from sync.protocol import (
    AckBody,
    AckDownlinkBody,
    CandidatesBody,
    ConfigBody,
    DownlinkBody,
    EraseBody,
    GalleryBody,
    GalleryEntry,
    HelloBody,
    LocalKeys,
    Opened,
    PeerKeys,
    ProtocolError,
    PublicIdentity,
    Reason,
    RecordsBody,
    ReplayWindow,
    ReplayWindows,
    RotateKeyBody,
    ServerChannel,
    Stamp,
    ingest_subscription,
    iter_seqs,
    key_id,
    parse_message_topic,
    to_ranges,
)
from sync.server.config import ServerConfig
from sync.server.store import HRStore, consents, devices, downlinks, templates
from sync.server.store.hr_store import database_url, open_hr_store
from sync.server.store.records import IngestResult

log = logging.getLogger(__name__)

#: Counter label of a message whose records were all stored before (a resend or a replayed copy):
#: re-acknowledged, never stored twice, not an attack.
DUPLICATE = Reason.DUPLICATE.value


def server_keys_path(state_dir: Path) -> Path:
    """The server's public keys, for provisioning devices (their ``sync.server_key_file``)."""
    return state_dir / "server-keys.json"


def load_server_identity(state_dir: Path) -> LocalKeys:
    """The server's keys (created on first start), with the public half exported for devices."""
    identity = load_or_create_identity(identity_path(state_dir))
    public = server_keys_path(state_dir)
    body = {"peer_id": "server", "current": public_json(identity.public), "previous": []}
    text = json.dumps(body, indent=1).encode()
    if not public.exists() or public.read_bytes() != text:
        write_atomic(public, text)
    return LocalKeys(identity)


class StoreDirectory:
    """Registered, active devices' public keys (current, and previous during a key rotation), read from
    the HR store for every message, by primary key. No cache on purpose: a key retired or a device revoked
    by any worker or by HR is refused on the very next message every worker opens. (A 5 s cache used to
    let another worker accept a retired key that long; the read costs one indexed SELECT per message, which
    carries up to 100 records: see ``edgehr bench sync``.)"""

    def __init__(self, store: HRStore) -> None:
        self._store = store

    def peer_keys(self, device_id: str) -> PeerKeys | None:
        found = devices.public_keys(self._store, device_id)
        if found is None:
            return None
        current, previous = found
        return PeerKeys(
            device_id,
            PublicIdentity.from_raw(*current),
            [PublicIdentity.from_raw(*previous)] if previous is not None else [],
        )


#: Builds the gallery entries (with templates) of the named employees: those with no templates are left out.
GallerySource = Callable[[list[str]], list[GalleryEntry]]


def store_gallery(store: HRStore, key: DataKey | None) -> GallerySource:
    """Gallery entries from the HR store's face templates, decrypted with the server's data key.

    Read at send time, so a command queued before an erasure or a consent withdrawal reached HR carries
    nobody erased and nobody whose consent is withdrawn (until HR records new consent)."""

    def entries(employee_nos: list[str]) -> list[GalleryEntry]:
        with store.db.read() as tx:
            names = {
                str(no): str(name)
                for no, name in tx.execute("SELECT employee_no, name FROM employees WHERE erased_at IS NULL").all()
            }
            withdrawn = consents.withdrawn_among(tx, [no for no in employee_nos if no in names])
        wanted = [no for no in employee_nos if no in names and no not in withdrawn]
        if not wanted or not any(templates.counts(store, no) for no in wanted):
            return []
        if key is None:
            raise EdgehrError(
                "This ingest worker has no data key, so it cannot send face templates to devices.",
                "Start the worker with the server's state folder (its data.key) as the API uses.",
            )
        found = templates.load(store, key, wanted)
        return [
            GalleryEntry(employee_no=no, name=names[no], model=model, templates=vectors)
            for no, (model, vectors) in found.items()
        ]

    return entries


def command_body(row: dict[str, Any], gallery: GallerySource | None = None) -> DownlinkBody:
    """The protocol body of a one-page ``downlinks`` row (the store keeps the HR side's description)."""
    bodies = command_bodies(row, gallery)
    if len(bodies) != 1:
        raise EdgehrError(
            f"Downlink {row['command_seq']} travels as {len(bodies)} gallery pages, not one body.",
            "Use command_bodies for gallery commands.",
        )
    return bodies[0]


def command_bodies(row: dict[str, Any], gallery: GallerySource | None = None) -> list[DownlinkBody]:
    """The protocol bodies of a ``downlinks`` row: one, or a gallery command's pages (PROTOCOL.md 8.2).

    A gallery command naming more than ``MAX_UPSERTS_PER_PAGE`` employees is sent as ``pages`` envelopes
    with the same ``command_seq``: page i names employees [100 (i-1), 100 i) of the row's list, in its
    order, so a resend pages the same way (templates are read at send time; an employee erased since is
    simply missing from its page). Removals travel on page 1. The device applies the command once all
    its pages are there, in one transaction."""
    seq, body, kind = int(row["command_seq"]), dict(row["body"]), str(row["type"])
    if kind == "gallery":
        # Employees newly assigned to the device ("added") or enrolled again ("enrolled") travel with
        # their templates, read at send time (so a resend carries the newest ones, an erased person none).
        named = list(dict.fromkeys(str(n) for n in (body.get("added") or []) + (body.get("enrolled") or [])))
        if named and gallery is None:
            raise EdgehrError(f"Gallery downlink {seq} names employees but no template source was given.",
                              "Pass the store's gallery (store_gallery) to command_bodies.")
        pages = max(1, math.ceil(len(named) / MAX_UPSERTS_PER_PAGE))
        removals = [str(n) for n in body.get("removed") or body.get("removals") or []]
        out: list[DownlinkBody] = []
        for page in range(1, pages + 1):
            chunk = named[(page - 1) * MAX_UPSERTS_PER_PAGE : page * MAX_UPSERTS_PER_PAGE]
            out.append(
                GalleryBody(
                    command_seq=seq,
                    gallery_version=int(body.get("gallery_version", seq)),
                    page=page,
                    pages=pages,
                    upserts=gallery(chunk) if chunk and gallery is not None else [],
                    removals=removals if page == 1 else [],
                )
            )
        return out
    if kind == "erase":
        nos: list[Any] = body.get("employee_nos") or [body.get("employee_no")]
        return [
            EraseBody(
                command_seq=seq,
                erasure_id=str(body.get("erasure_id") or f"erase-{row['device_id']}-{seq}"),
                employee_nos=[str(n) for n in nos],
                reason=str(body.get("reason") or "erased-by-hr"),
            )
        ]
    if kind == "config":
        return [
            ConfigBody(
                command_seq=seq,
                config_version=int(body.get("config_version", seq)),
                settings=body.get("settings", {}),
            )
        ]
    if kind == "candidates":
        return [CandidatesBody.model_validate({"command_seq": seq, "candidates": body.get("candidates", [])})]
    if kind == "rotate-key":
        return [RotateKeyBody.model_validate({"command_seq": seq, **body})]
    raise EdgehrError(f"Downlink {seq} has unknown type {kind!r}.", "Fix the writer of the downlinks table.")


#: Employees with templates on one gallery page: ~7 KB each (10 templates, base64) keeps the sealed
#: envelope well under the protocol's 1 MiB. A bigger gallery command is sent as several pages.
MAX_UPSERTS_PER_PAGE = 100
MAX_UPSERTS_PER_COMMAND = MAX_UPSERTS_PER_PAGE  # the name older callers use

#: At most this many records messages share one transaction (bounds its size and the ack delay).
MAX_MESSAGES_PER_COMMIT = 50
#: Ranges in one ack body (the protocol allows MAX_RANGES = 1000): a bigger union is split in two acks.
MAX_ACK_RANGES = 500


def batch_item(record: Any) -> dict[str, Any]:
    """A protocol record as the store's ingest takes it: seq, type, body, and when the device made it
    (enrolment events keep the time; the digest covers type and body only)."""
    return {
        "seq": record.seq,
        "type": record.type,
        "body": record.body.model_dump(mode="json", exclude_none=True),
        "created_at_ms": record.created_at_ms,
        "clock_synced": record.clock_synced,
    }


@dataclass(frozen=True)
class _Stored:
    """A records message whose records are committed: what to acknowledge once the commit is done."""

    device_id: str
    envelope_seq: int
    window: ReplayWindow
    ackable: list[int]
    result: IngestResult | None  # None: every record was known stored (no ingest needed)


class IngestWorker:
    """One worker process's loop: ``run()`` until the stop event is set."""

    def __init__(
        self,
        *,
        store: HRStore,
        keys: LocalKeys,
        endpoint: Endpoint,
        worker_id: str,
        share_group: str,
        stop: threading.Event,
        backoff: Backoff | None = None,
        downlink_interval_seconds: float = 1.0,
        downlink_resend_seconds: float = 30.0,
        data_key: DataKey | None = None,
    ) -> None:
        """``data_key``: the server's data key, to send face templates in gallery commands (without it a
        gallery command naming enrolled employees is not sent, and the log says why)."""
        self.store = store
        self.gallery = store_gallery(store, data_key)
        self.worker_id = worker_id
        self.stop = stop
        self.directory = StoreDirectory(store)
        self.channel = ServerChannel(keys, self.directory)
        self.windows = ReplayWindows(self._load_window)
        self.counts: Counter[str] = Counter()
        self._downlink_interval = downlink_interval_seconds
        self._downlink_resend = downlink_resend_seconds
        self._next_downlink_check = 0.0
        self._downlink_sent: dict[tuple[str, int], float] = {}
        self._last_seq = 0
        self.link = MqttLink(
            endpoint,
            client_id=f"ingest-{worker_id}",
            stop=stop,
            backoff=backoff or Backoff(0.5, 10.0),
            manual_ack=True,
            max_inflight=200,
        )
        self.link.subscribe(ingest_subscription(share_group), qos=1)

    def _load_window(self, device_id: str) -> ReplayWindow:
        floor = self.store.highest_contiguous_seq(device_id)
        return ReplayWindow(floor, self.store.seen_seqs(device_id, floor + 1, floor + 4096))

    def _next_seq(self) -> int:
        # Downlink envelope sequences only need to grow per sender; workers share no counter, so
        # microseconds since the epoch (bumped past the last one used) keep them increasing and apart.
        self._last_seq = max(self._last_seq + 1, time.time_ns() // 1000)
        return self._last_seq

    def run(self) -> None:
        log.info("ingest worker %s starting", self.worker_id)
        try:
            while not self.stop.is_set():
                self.step(0.05)
        finally:
            self.link.close()

    def step(self, timeout: float) -> None:
        self.handle_all(self.link.poll(timeout))
        now = time.monotonic()
        if self.link.connected and now >= self._next_downlink_check:
            self._next_downlink_check = now + self._downlink_interval
            self.send_downlinks()

    # -- uplink -----------------------------------------------------------------------------------

    def _reject(self, reason: str, device_id: str | None, why: object) -> None:
        self.counts[reason] += 1
        self.store.count_rejection(reason, device_id)
        log.warning("uplink rejected (%s): %s", reason, why, extra={"device_id": device_id})

    def handle_all(self, messages: list[Received]) -> None:
        """Handle messages in arrival order; each run of records messages is stored in ONE transaction
        (one commit, one fsync, for however many arrived together), then each is acknowledged and
        PUBACKed. Other messages (hello, confirmations) are handled one at a time between the runs."""
        run: list[tuple[Received, Opened, RecordsBody]] = []
        for message in messages:
            opened = self._open(message)
            if opened is not None and isinstance(opened.body, RecordsBody):
                if len(run) >= MAX_MESSAGES_PER_COMMIT:
                    self._store_run(run)
                    run = []
                run.append((message, opened, opened.body))
                continue
            self._store_run(run)
            run = []
            if opened is not None:
                self._other(opened)
            self.link.ack(message)  # PUBACK only once its effects are durable
        self._store_run(run)

    def handle(self, message: Received) -> None:
        """Handle one message (its records in their own transaction), without the PUBACK."""
        opened = self._open(message)
        if opened is None:
            return
        if isinstance(opened.body, RecordsBody):
            self._acknowledge(self._store_records([(opened, opened.body)]))
        else:
            self._other(opened)

    def _open(self, message: Received) -> Opened | None:
        """The verified, decrypted message, or None when it was refused (counted by reason)."""
        try:
            topic_device: str | None = parse_message_topic(message.topic).device_id
        except ProtocolError:
            topic_device = None
        try:
            opened = self.channel.open(message.topic, message.payload)
        except ProtocolError as exc:
            self._reject(exc.reason.value, topic_device, exc)
            return None
        self._retire_superseded_key(opened)
        return opened

    def _retire_superseded_key(self, opened: Opened) -> None:
        """A device that signs with its new key has switched (PROTOCOL.md section 12): its old key is
        retired, so anything signed with it from now on is ``unknown-key``."""
        peer = self.directory.peer_keys(opened.device_id)
        if peer is None or not peer.previous or opened.header.sender_key_id != peer.current.sign_id:
            return
        if devices.retire_previous_keys(self.store, opened.device_id, peer.current.sign_id.hex()):
            log.info("device %s uses its new key; the previous one is retired", opened.device_id)

    def _other(self, opened: Opened) -> None:
        device_id, body = opened.device_id, opened.body
        if isinstance(body, AckDownlinkBody):
            confirmed = downlinks.confirm(self.store, device_id, list(iter_seqs(body.commands)))
            self.counts["confirmed"] += confirmed
            self._ack(device_id, [], opened.seq)
        elif isinstance(body, HelloBody):
            self._hello(device_id, opened, body)

    def _store_run(self, run: list[tuple[Received, Opened, RecordsBody]]) -> None:
        if not run:
            return
        try:
            stored = self._store_records([(opened, body) for _, opened, body in run])
        except Exception:
            if len(run) == 1:
                raise  # as before batching: the worker stops, nothing is acknowledged, the broker resends
            # Keep a bad message from holding back the others: store them one transaction each.
            log.warning("storing %d messages together failed; storing them one at a time", len(run), exc_info=True)
            for one in run:
                self._store_run([one])
            return
        self._acknowledge(stored)
        for message, _, _ in run:
            self.link.ack(message)  # PUBACK only once its effects are durable

    def _store_records(self, run: list[tuple[Opened, RecordsBody]]) -> list[_Stored]:
        """Store the records of every message of ``run`` in one transaction; committed when it returns."""
        plans: list[_Stored] = []
        with self.store.db.transaction():
            for opened, body in run:
                device_id = opened.device_id
                window = self.windows.get(device_id)
                seqs = [r.seq for r in body.records]
                new, _ = window.split(seqs)
                if not new:  # every record known stored: a resend or a replayed copy
                    self.store.count_rejection(DUPLICATE, device_id)
                    plans.append(_Stored(device_id, opened.seq, window, seqs, None))
                    continue
                batch = [batch_item(r) for r in body.records]
                result = self.store.ingest(device_id, batch)
                if result.duplicates:
                    self.store.count_rejection(DUPLICATE, device_id)
                plans.append(_Stored(device_id, opened.seq, window, result.ackable, result))
        return plans

    def _acknowledge(self, stored: list[_Stored]) -> None:
        """After the commit: the replay windows, the counters, and the ``ack``s: one per device for all
        its messages of the run (``messages`` lists them), split when the ranges would grow too many."""
        acks: dict[str, list[tuple[list[int], list[int]]]] = {}  # device -> [(record seqs, envelope seqs)]
        for plan in stored:
            result = plan.result
            if result is None:
                self.counts[DUPLICATE] += 1
            else:
                plan.window.mark_stored(result.ackable)
                self.counts["stored"] += len(result.stored)
                if result.duplicates:
                    self.counts[DUPLICATE] += 1
                if result.conflicts:
                    log.error(
                        "device %s reused record sequences with other content: %s",
                        plan.device_id,
                        result.conflicts[:20],
                    )
            groups = acks.setdefault(plan.device_id, [])
            if groups and len(to_ranges(groups[-1][0] + plan.ackable)) <= MAX_ACK_RANGES:
                groups[-1][0].extend(plan.ackable)
                groups[-1][1].append(plan.envelope_seq)
            else:
                groups.append((list(plan.ackable), [plan.envelope_seq]))
        for device_id, groups in acks.items():
            for seqs, envelope_seqs in groups:
                self._ack(device_id, seqs, *envelope_seqs)

    def _hello(self, device_id: str, opened: Opened, body: HelloBody) -> None:
        highest = self.store.highest_contiguous_seq(device_id)
        if body.next_record_seq <= highest:
            # The device's counter went backwards (a restored SD card): its new records would reuse
            # stored sequences. The store refuses those as conflicts; flag the device now.
            self._reject(Reason.REPLAY.value, device_id, f"hello next_record_seq {body.next_record_seq} <= {highest}")
        if body.new_keys is not None and not self._register_new_keys(device_id, opened, body):
            return  # refused and counted: no ack, so the device keeps its current keys
        # Commands above the device's floor that we hold confirmed were lost on its side (a restored
        # store): send them again, in order.
        reopened = downlinks.reopen_above(self.store, device_id, body.command_floor)
        if reopened:
            log.warning("device %s reports command floor %d: %d commands sent again", device_id,
                        body.command_floor, reopened)
        # A device that (re)connects gets its pending commands at once.
        for key in [k for k in self._downlink_sent if k[0] == device_id]:
            del self._downlink_sent[key]
        self._next_downlink_check = 0.0
        self._ack(device_id, [], opened.seq)

    def _register_new_keys(self, device_id: str, opened: Opened, body: HelloBody) -> bool:
        """The device half of a key rotation: its new keys, signed by its current key, become current
        (the old ones previous). Idempotent: a repeated hello changes nothing and is acknowledged again."""
        assert body.new_keys is not None
        try:
            outcome = devices.register_new_keys(
                self.store, device_id, body.new_keys.sign, body.new_keys.box, opened.header.sender_key_id
            )
        except EdgehrError as exc:
            self._reject(Reason.UNKNOWN_KEY.value, device_id, exc)
            return False
        self.counts[f"keys-{outcome}"] += 1
        log.info("device %s new keys %s (sign key %s)", device_id, outcome, key_id(body.new_keys.sign).hex())
        return True

    def _ack(self, device_id: str, seqs: list[int], *envelope_seqs: int) -> None:
        ack = AckBody(records=to_ranges(seqs), messages=list(envelope_seqs))
        sealed = self.channel.seal(device_id, ack, seq=self._next_seq(), stamp=Stamp.now(True))
        self.link.publish(sealed.topic, sealed.payload)

    # -- downlink commands ------------------------------------------------------------------------

    def send_downlinks(self) -> None:
        now = time.monotonic()
        sent: dict[str, list[int]] = {}
        for row in downlinks.pending(self.store):
            key = (str(row["device_id"]), int(row["command_seq"]))
            if now - self._downlink_sent.get(key, -1e9) < self._downlink_resend:
                continue
            try:
                sealed = [
                    self.channel.seal(key[0], body, seq=self._next_seq(), stamp=Stamp.now(True))
                    for body in command_bodies(row, self.gallery)
                ]
            except (ProtocolError, EdgehrError, ValueError) as exc:
                log.error("downlink %s cannot be sent: %s", key, exc)
                self._downlink_sent[key] = now + 3600  # look again in an hour, not every second
                continue
            for page in sealed:  # every page of a gallery command, in order
                if not self.link.publish(page.topic, page.payload):
                    return
            self._downlink_sent[key] = now
            sent.setdefault(key[0], []).append(key[1])
        for device_id, seqs in sent.items():
            downlinks.mark_sent(self.store, device_id, seqs)


def main(argv: list[str] | None = None) -> int:
    """``python -m sync.server.ingest --config FILE --worker-id N``: one ingest worker process."""
    from core.config.loader import load_toml_model
    from core.logs import setup_logging

    parser = argparse.ArgumentParser(prog="python -m sync.server.ingest", description=main.__doc__)
    parser.add_argument("--config", type=Path, required=True, help="server configuration file (TOML)")
    parser.add_argument("--worker-id", required=True, help="stable id: names the worker's persistent session")
    args = parser.parse_args(argv)
    try:
        config = load_toml_model(args.config, ServerConfig)
        setup_logging(config.logging.level, config.logging.json_lines)
        store = open_hr_store(
            database_url(config.server.database_url, config.server.state_dir), config.server.timezone
        )
        with stop_on_signals(threading.Event()) as stop:
            IngestWorker(
                store=store,
                keys=load_server_identity(config.server.state_dir),
                endpoint=config.broker.endpoint(),
                worker_id=args.worker_id,
                share_group=config.ingest.share_group,
                stop=stop,
                data_key=templates.load_data_key(config.server.state_dir, store),
            ).run()
        store.close()
    except EdgehrError as exc:
        print(f"ingest: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
