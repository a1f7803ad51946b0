"""An ingest worker: device uplink from the broker into the HR store, acknowledgements and commands back.

Several workers share the uplink through an MQTT 5 shared subscription
(``$share/<group>/edgehr/v1/+/up/#``), each with its own persistent session. For every message:
verify and decrypt it (unknown devices, bad signatures, tampering are refused and counted by
reason), check the topic names the envelope's device, store its records idempotently in one
transaction, and only after that commit publish an ``ack`` naming the stored and duplicate sequences
and PUBACK the message. A worker killed mid-message has sent no ack: the courier sends again.

Workers also send the store's pending downlink commands (erase, gallery, config...) to devices and
record the device's confirmations (``ack-downlink``).

This module holds the worker's loop over the MQTT link; storing runs of records messages and planning
their acks is ``ingest_batches``, downlink bodies ``ingest_downlinks``, the keys ``ingest_keys``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from core.datakey import DataKey
from core.errors import EdgehrError
from core.signals import stop_on_signals
from sync.backoff import Backoff
from sync.mqtt import Endpoint, MqttLink, Received
from sync.protocol import (
    AckBody,
    AckDownlinkBody,
    HelloBody,
    LocalKeys,
    Opened,
    ProtocolError,
    Reason,
    RecordsBody,
    ReplayWindow,
    ReplayWindows,
    ServerChannel,
    Stamp,
    ingest_subscription,
    key_id,
    parse_message_topic,
    to_ranges,
)
from sync.server.config import ServerConfig
from sync.server.ingest_batches import MAX_MESSAGES_PER_COMMIT, Stored, after_commit, store_records
from sync.server.ingest_downlinks import command_bodies, store_candidates, store_gallery
from sync.server.ingest_keys import StoreDirectory, load_server_identity
from sync.server.store import HRStore, dead_letters, devices, downlinks, records, resequence, sync_marks, templates
from sync.server.store.hr_store import database_url, open_hr_store

log = logging.getLogger(__name__)

#: Refusals of a message whose signature verified: the device really sent it, so it is kept to inspect.
_AUTHENTICATED_REFUSALS = frozenset({Reason.BAD_PAYLOAD, Reason.DECRYPT_FAILED})


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
        self.candidate_templates = store_candidates(store, data_key)
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
        floor = records.highest_contiguous_seq(self.store, device_id)
        return ReplayWindow(floor, records.seen_seqs(self.store, device_id, floor + 1, floor + 4096))

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
        records.count_rejection(self.store, reason, device_id)
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
                self._guarded(message, opened.device_id, partial(self._other, opened))
            self.link.ack(message)  # PUBACK only once its effects are durable (or it is a dead letter)
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
            if exc.reason in _AUTHENTICATED_REFUSALS and topic_device is not None:
                self._dead_letter(message, topic_device, exc.reason.value, exc)  # signed: worth a look
            else:
                self._reject(exc.reason.value, topic_device, exc)
            return None
        self._retire_superseded_key(opened)
        return opened

    def _guarded(self, message: Received, device_id: str, work: Callable[[], object]) -> bool:
        """Run ``work`` for one opened message: any error becomes a counted ``bad-payload`` and a dead
        letter, never a dead worker (PROTOCOL.md section 11). The caller PUBACKs the message either way, so
        it cannot come back forever; nothing is acknowledged to the device, which sends records again.
        Only when even the dead letter cannot be written (the store is down) does the error propagate."""
        try:
            work()
        except Exception as exc:
            log.exception("uplink from %s could not be processed; kept as a dead letter", device_id)
            self._dead_letter(message, device_id, Reason.BAD_PAYLOAD.value, f"{type(exc).__name__}: {exc}")
            return False
        return True

    def _dead_letter(self, message: Received, device_id: str, reason: str, why: object) -> None:
        self.counts[reason] += 1
        records.dead_letter(self.store, dead_letters.of_message(device_id, message.topic, message.payload, reason, why))
        log.warning("uplink rejected (%s), kept as a dead letter: %s", reason, why, extra={"device_id": device_id})

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
            confirmed = downlinks.confirm_ranges(self.store, device_id, body.commands)
            self.counts["confirmed"] += confirmed
            self._ack(device_id, [], opened.seq)
        elif isinstance(body, HelloBody):
            self._hello(device_id, opened, body)

    def _store_run(self, run: list[tuple[Received, Opened, RecordsBody]]) -> None:
        if not run:
            return
        if len(run) == 1:  # alone: stored and acknowledged, or a dead letter; PUBACKed either way
            message, opened, body = run[0]
            self._guarded(message, opened.device_id, lambda: self._acknowledge(self._store_records([(opened, body)])))
            self.link.ack(message)
            return
        try:
            stored = self._store_records([(opened, body) for _, opened, body in run])
        except Exception:
            # Keep a bad message from holding back the others: store them one transaction each.
            log.warning("storing %d messages together failed; storing them one at a time", len(run), exc_info=True)
            for one in run:
                self._store_run([one])
            return
        self._acknowledge(stored)
        for message, _, _ in run:
            self.link.ack(message)  # PUBACK only once its effects are durable

    def _store_records(self, run: list[tuple[Opened, RecordsBody]]) -> list[Stored]:
        """Store the records of every message of ``run`` in one transaction; committed when it returns."""
        return store_records(self.store, self.windows, run)

    def _acknowledge(self, stored: list[Stored]) -> None:
        """After the commit: the replay windows, the counters, and the ``ack``s."""
        for ack in after_commit(stored, self.counts):
            self._ack(ack.device_id, ack.seqs, *ack.envelope_seqs)

    def _hello(self, device_id: str, opened: Opened, body: HelloBody) -> None:
        highest = resequence.on_hello(self.store, device_id, body.next_record_seq)
        if highest is not None:
            # The device's counter went backwards (a restored SD card): its new records would reuse stored
            # sequences. The store refuses those as conflicts; the device is flagged and told where to go on.
            self._reject(Reason.REPLAY.value, device_id, f"hello next_record_seq {body.next_record_seq} <= {highest}")
        else:  # the device's synced-through watermark (timesheet days become final from it)
            sync_marks.on_hello(self.store, device_id, body.next_record_seq, opened.header.created_ms)
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
                    for body in command_bodies(row, self.gallery, self.candidate_templates)
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
