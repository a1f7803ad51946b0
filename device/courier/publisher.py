"""The courier's uplink: outbox rows sealed and published in batches, and the messages in flight until the
server's ack answers them (resent with a growing timeout until it does).

An outbox row is delivered only when an ack names it; the broker's PUBACK says nothing about the server.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from core.clock import Clock, to_ms
from device.config.device import DeviceConfig
from device.courier.envelope_seq import EnvelopeCounter
from device.courier.records import UnsendableRecord, to_record
from device.store import Store, downlinks, outbox
from sync.mqtt import MqttLink
from sync.protocol import (
    AckBody,
    AckDownlinkBody,
    DeviceChannel,
    HelloBody,
    Outgoing,
    RecordsBody,
    Stamp,
    UplinkBody,
    iter_seqs,
    to_ranges,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CourierOptions:
    batch_size: int = 50
    max_inflight: int = 20  # messages published and not yet acknowledged by the server
    ack_timeout_seconds: float = 10.0
    ack_timeout_max_seconds: float = 120.0
    backlog_alert_fraction: float = 0.8
    disk_check_seconds: float = 30.0
    confirm_check_seconds: float = 0.5
    poll_seconds: float = 0.05
    #: A hello this often while connected: it proves how far the device is synced (its watermark, PROTOCOL.md
    #: section 9), which is what finalises timesheet days while no reconnect sends one.
    hello_interval_seconds: float = 300.0

    @classmethod
    def of(cls, config: DeviceConfig, **overrides: float) -> CourierOptions:
        base = cls(batch_size=config.sync.batch_size, backlog_alert_fraction=config.sync.backlog_alert_fraction)
        return base if not overrides else cls(**{**base.__dict__, **overrides})


@dataclass
class Flight:
    """A published message the server has not answered yet."""

    topic: str
    payload: bytes
    records: set[int]
    commands: list[int]
    sent_at: float
    attempts: int = 1
    new_keys: bytes | None = None  # a hello announcing these keys (signing key id): its ack switches


@dataclass
class CourierStats:
    delivered: int = 0
    messages_sent: int = 0
    resends: int = 0
    record_bytes_plain: int = 0  # JSON of the records bodies before compression and encryption
    record_bytes_wire: int = 0  # envelope bytes of those messages (first sends only)
    records_sent: int = 0
    downlinks: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)


class Publisher:
    """Seals and publishes the uplink and keeps what is in flight. ``report_problem(prefix, detail)``
    tells the courier's health of records the protocol cannot carry."""

    def __init__(
        self,
        *,
        store: Store,
        channel: DeviceChannel,
        link: MqttLink,
        options: CourierOptions,
        clock: Clock,
        stats: CourierStats,
        report_problem: Callable[[str, object], None],
    ) -> None:
        self.store = store
        self.channel = channel
        self.link = link
        self.options = options
        self.clock = clock
        self.stats = stats
        self.flights: dict[int, Flight] = {}
        self.sent_upto = 0
        self._report_problem = report_problem
        self._unsendable: set[int] = set()
        self._counter = EnvelopeCounter(store)

    def _seal(self, body: UplinkBody, stamp: Stamp | None = None) -> Outgoing:
        seq = self._counter.next()
        return self.channel.seal(body, seq=seq, stamp=stamp or self.stamp())

    def stamp(self) -> Stamp:
        return Stamp(to_ms(self.clock.now()), self.clock.synced())

    def send_hello(self, hello: HelloBody, announces: bytes | None, stamp: Stamp | None = None) -> bool:
        """Publish a hello; one announcing new keys (``announces``: their signing key id) waits for its ack
        like a records message and replaces any older announcement. False: announce again later.
        ``stamp``: the envelope time, read before the hello's ``next_record_seq`` (see the courier)."""
        sealed = self._seal(hello, stamp)
        published = self.link.publish(sealed.topic, sealed.payload)
        if announces is None:
            return True
        for seq in [s for s, f in self.flights.items() if f.new_keys is not None]:
            del self.flights[seq]  # an older announcement: this one replaces it
        if not published:
            return False
        self.flights[sealed.seq] = Flight(sealed.topic, sealed.payload, set(), [], time.monotonic(), new_keys=announces)
        return True

    def restart(self) -> None:
        """Forget what is in flight and send the backlog again (it was sealed with keys now retired)."""
        self.flights.clear()
        self.sent_upto = 0

    def forget_record_flights(self) -> None:
        """The outbox was renumbered (a resequence command): records in flight under their old numbers
        are sent again under the new ones; flights of confirmations and key announcements stay."""
        for seq in [s for s, f in self.flights.items() if f.records]:
            del self.flights[seq]
        self.sent_upto = 0

    def wait_afresh(self) -> None:
        """After a reconnect: paho resends the session's messages, so each waits its full timeout again."""
        now = time.monotonic()
        for flight in self.flights.values():
            flight.sent_at = now

    def fill(self) -> None:
        while len(self.flights) < self.options.max_inflight:
            rows = outbox.pending(self.store, self.options.batch_size, after_seq=self.sent_upto)
            if not rows:
                return
            records = []
            for row in rows:
                try:
                    records.append(to_record(row))
                except UnsendableRecord as exc:
                    if row.seq not in self._unsendable:
                        self._unsendable.add(row.seq)
                        log.error("%s; the record stays in the outbox until the writer is fixed", exc)
                        self._report_problem("sync: records the protocol cannot carry", len(self._unsendable))
            previous = self.sent_upto
            self.sent_upto = rows[-1].seq
            if not records:
                continue
            sealed = self._seal(RecordsBody(records=records))
            if not self.link.publish(sealed.topic, sealed.payload):
                self.sent_upto = previous
                return
            self.flights[sealed.seq] = Flight(
                sealed.topic, sealed.payload, {r.seq for r in records}, [], time.monotonic()
            )
            self.stats.messages_sent += 1
            self.stats.records_sent += len(records)
            self.stats.record_bytes_plain += sealed.plaintext_len
            self.stats.record_bytes_wire += len(sealed.payload)

    def send_confirmations(self) -> None:
        """Confirm the commands applied here that no message in flight confirms yet."""
        flying = {c for f in self.flights.values() for c in f.commands}
        waiting = [c for c in downlinks.unconfirmed(self.store) if c not in flying]
        if not waiting:
            return
        sealed = self._seal(AckDownlinkBody(commands=to_ranges(waiting)))
        if self.link.publish(sealed.topic, sealed.payload):
            self.flights[sealed.seq] = Flight(sealed.topic, sealed.payload, set(), waiting, time.monotonic())
            self.stats.messages_sent += 1

    def resend_due(self, now: float) -> None:
        for flight in self.flights.values():
            timeout = min(
                self.options.ack_timeout_max_seconds, self.options.ack_timeout_seconds * 2 ** (flight.attempts - 1)
            )
            if now - flight.sent_at >= timeout:
                if not self.link.publish(flight.topic, flight.payload):
                    return
                flight.sent_at = now
                flight.attempts += 1
                self.stats.resends += 1

    def settle(self, body: AckBody) -> tuple[list[int], bytes | None]:
        """Take the server's ack off what is in flight (confirmations it answered are marked confirmed).
        Returns the outbox rows it acknowledged and, if it answered an announcement of new keys, their
        signing key id: the courier switches to them."""
        seqs = list(iter_seqs(body.records))
        acked = set(seqs)
        # The server answers again: messages waiting out a long timeout (it was away) go again soon.
        for waiting in self.flights.values():
            waiting.attempts = 1
        switch_to: bytes | None = None
        for seq in body.messages:
            answered = self.flights.pop(seq, None)
            if answered is None:
                continue
            if answered.new_keys is not None:
                switch_to = answered.new_keys
            if answered.commands:
                downlinks.mark_confirmed(self.store, answered.commands, to_ms(self.clock.now()))
            refused = answered.records - acked
            if refused:
                # The server answered the message but did not store these: they stay in the outbox.
                log.error(
                    "server did not accept records %s; they stay in the outbox", sorted(refused)[:20],
                    extra={"count": len(refused)},
                )
        for seq, flight in list(self.flights.items()):
            flight.records -= acked
            if not flight.records and not flight.commands and flight.new_keys is None:
                del self.flights[seq]
        return seqs, switch_to
