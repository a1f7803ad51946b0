"""The courier: the device's outbox to the server over MQTT 5, and the server's commands back.

Delivery rule: an outbox row is marked delivered only when the server's ``ack`` (verified, decrypted)
names its sequence, never on the broker's PUBACK (that only says the broker has the message). A
message with no ack in time is published again (with a growing timeout); duplicates are harmless
because ingest is idempotent and acknowledges them again. Nothing is ever dropped: the backlog is
bounded by the disk alone, and an alert is raised when that disk fills up.

The courier never holds the store's write lock for long (one short transaction per ack). It runs as a
thread inside ``edgehr device run`` or as its own process (``python -m device.courier.courier --config``).
Here: the loop, the hello and key rotation, and what the server sends. The uplink is
``device.courier.publisher``; commands ``device.courier.downlink``; releases ``device.courier.updates``.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.clock import Clock, SystemClock, to_ms
from core.datakey import DataKey
from core.datakey import load_or_create as load_data_key
from core.errors import EdgehrError
from device.config.device import DeviceConfig
from device.courier import downlink, resequence
from device.courier.commands import DownlinkContext
from device.courier.publisher import CourierOptions, CourierStats, Flight, Publisher
from device.courier.updates import Applier, Updates, request_file_applier
from device.store import Store, downlinks, outbox
from sync.backoff import Backoff
from sync.keyfiles import (
    DeviceKeyState,
    begin_rotation,
    complete_rotation,
    load_device_keys,
    load_peer_keys,
    save_peer_keys,
)
from sync.mqtt import Endpoint, MqttLink, Received, Will
from sync.protocol import (
    AckBody,
    Command,
    DeviceChannel,
    DeviceStatus,
    HelloBody,
    PeerKeys,
    ProtocolError,
    PublicIdentity,
    PublicKeys,
    device_subscription,
    encode_status,
    status_topic,
)

__all__ = ["Courier", "CourierOptions", "CourierStats", "build", "data_key_path", "main"]

log = logging.getLogger(__name__)

SOFTWARE_VERSION = "0.1.0"
PROTOCOL_VERSION = 1


def data_key_path(state_dir: Path) -> Path:
    return state_dir / "keys" / "data.key"


class Courier:
    def __init__(
        self,
        *,
        device_id: str,
        store: Store,
        channel: DeviceChannel,
        endpoint: Endpoint,
        options: CourierOptions,
        clock: Clock,
        stop: threading.Event,
        downlink_context: DownlinkContext | None = None,
        backoff: Backoff | None = None,
        state_dir: Path | None = None,
        device_keys: DeviceKeyState | None = None,
    ) -> None:
        """``device_keys`` (with ``state_dir``): the device's key files, so a rotate-key command can
        rotate them (PROTOCOL.md section 12); without them such a command is refused."""
        self.device_id = device_id
        self.store = store
        self.options = options
        self.clock = clock
        self.stop = stop
        self.downlink_context = downlink_context
        self.state_dir = state_dir
        self.problems: list[str] = []
        self._acked_seqs: list[int] = []  # acknowledged in this poll, marked delivered at its end
        self._next_disk_check = 0.0
        self._next_confirm_check = 0.0
        self.updates = downlink_context.updates if downlink_context is not None else None
        #: Called after every round of ``run`` (the courier's own process: systemd's watchdog, status file).
        self.on_round: Callable[[float], None] = lambda now: None
        self.device_keys = device_keys
        self._hello_due = False
        self._next_hello = float("inf")  # the first hello goes on connect; then one every hello_interval_seconds
        if downlink_context is not None and device_keys is not None and state_dir is not None:
            downlink_context.rotate_device_keys = self._begin_rotation
        self.link = MqttLink(
            endpoint,
            client_id=f"device-{device_id}",
            stop=stop,
            backoff=backoff or Backoff(1.0, 60.0),
            will=Will(status_topic(device_id), encode_status(DeviceStatus(state="offline"))),
            on_connect=self._connected,
        )
        self.link.subscribe(device_subscription(device_id), qos=1)
        self.uplink = Publisher(
            store=store,
            channel=channel,
            link=self.link,
            options=options,
            clock=clock,
            stats=CourierStats(),
            report_problem=self._set_problem,
        )

    @property
    def channel(self) -> DeviceChannel:
        return self.uplink.channel

    @channel.setter
    def channel(self, channel: DeviceChannel) -> None:
        self.uplink.channel = channel

    @property
    def stats(self) -> CourierStats:
        return self.uplink.stats

    @property
    def flights(self) -> dict[int, Flight]:
        return self.uplink.flights

    # -- running ----------------------------------------------------------------------------------

    def run(self) -> None:
        """Work until the stop event is set; then disconnect, letting the broker publish 'offline'."""
        log.info("courier for %s starting", self.device_id, extra={"backlog": outbox.backlog(self.store)})
        try:
            while not self.stop.is_set():
                self.step()
                self.on_round(time.monotonic())
        finally:
            if self.updates is not None:
                self.updates.join(30)  # a staging thread ends with its fetch
            self.link.close(with_will=True)

    def start_thread(self) -> threading.Thread:
        """Run in a thread of the device process; set the stop event and join it to end."""
        thread = threading.Thread(target=self.run, name=f"courier-{self.device_id}", daemon=False)
        thread.start()
        return thread

    def step(self) -> None:
        for message in self.link.poll(self.options.poll_seconds):
            self._receive(message)
        self._record_deliveries()
        now = time.monotonic()
        if self.link.connected:
            if self._hello_due or now >= self._next_hello:
                self._send_hello()
            self.uplink.resend_due(now)
            if now >= self._next_confirm_check:
                self._next_confirm_check = now + self.options.confirm_check_seconds
                if self.downlink_context is not None:
                    self.uplink.send_confirmations()
            self.uplink.fill()
        if now >= self._next_disk_check:
            self._next_disk_check = now + self.options.disk_check_seconds
            self._check_disk()
        if self.updates is not None:
            self.updates.step()

    def backlog(self) -> int:
        return outbox.backlog(self.store)

    # -- hello and key rotation -------------------------------------------------------------------

    def _connected(self, session_present: bool) -> None:
        status = DeviceStatus(
            state="online",
            since_ms=to_ms(self.clock.now()),
            software_version=SOFTWARE_VERSION,
            protocol_version=PROTOCOL_VERSION,
        )
        self.link.publish(status_topic(self.device_id), encode_status(status), retain=True)
        self._send_hello()
        # Give messages sent before the break a fresh wait: paho resends them within the session.
        self.uplink.wait_afresh()

    def _send_hello(self) -> None:
        """Hello after every (re)connect; during a key rotation it announces the pending keys (signed by
        the current ones) and waits for its ack like a records message, resent until answered."""
        self._hello_due = False
        self._next_hello = time.monotonic() + self.options.hello_interval_seconds
        pending = self.device_keys.pending if self.device_keys is not None else None
        # The time first, then the counter: every record made by this time has a number below
        # next_record_seq, which is what lets the server call the device synced through it.
        stamp = self.uplink.stamp()
        hello = HelloBody(
            protocol_version=PROTOCOL_VERSION,
            software_version=SOFTWARE_VERSION,
            next_record_seq=outbox.next_seq(self.store),
            command_floor=downlinks.command_floor(self.store),
            clock_synced=self.clock.synced(),
            new_keys=None if pending is None else PublicKeys(sign=pending.public.sign_raw, box=pending.public.box_raw),
        )
        announced = self.uplink.send_hello(hello, None if pending is None else pending.public.sign_id, stamp)
        self._hello_due = not announced

    def _begin_rotation(self) -> PublicIdentity:
        """A rotate-key command asked for new keys: make them pending (durably) and announce them."""
        assert self.state_dir is not None
        state = begin_rotation(self.state_dir)
        assert state.pending is not None
        self.device_keys = state
        self.channel = self.channel.with_keys(keys=state.local_keys())  # the pending key also decrypts
        self._hello_due = True
        log.info("device keys: new key %s pending", state.pending.public.sign_id.hex())
        return state.pending.public

    def _switch_keys(self, sign_id: bytes) -> None:
        """The server registered our new keys: sign with them from now on. Messages in flight were signed
        with the old key, which the server retires once it sees the new one, so they are sealed again."""
        assert self.state_dir is not None
        state = complete_rotation(self.state_dir, sign_id)
        self.device_keys = state
        self.channel = self.channel.with_keys(keys=state.local_keys())
        self.uplink.restart()
        # A hello signed with the new key at once: the server retires the old key when it first verifies
        # the new one, and with the backlog already acknowledged the next punch might be hours away.
        self._hello_due = True
        log.info("device keys: switched to key %s", sign_id.hex())

    # -- downlink ---------------------------------------------------------------------------------

    def _receive(self, message: Received) -> None:
        try:
            opened = self.channel.open(message.topic, message.payload)
        except ProtocolError as exc:
            self.stats.rejected[exc.reason.value] += 1
            log.warning("downlink message rejected (%s): %s", exc.reason.value, exc, extra={"topic": message.topic})
            return
        body = opened.body
        if isinstance(body, AckBody):
            seqs, switch_to = self.uplink.settle(body)
            self._acked_seqs += seqs
            if switch_to is not None:
                self._switch_keys(switch_to)
        elif isinstance(body, Command):
            self._command(body)

    def _record_deliveries(self) -> None:
        """Mark every row acknowledged by the messages of one poll delivered, in ONE transaction (one
        fsync however many acks arrived together). Until then the rows simply count as undelivered:
        a crash before this commit only means they are sent again, which the server re-acknowledges."""
        if self._acked_seqs:
            seqs, self._acked_seqs = self._acked_seqs, []
            self.stats.delivered += outbox.mark_delivered(self.store, seqs, to_ms(self.clock.now()))

    def _command(self, body: Command) -> None:
        context = self.downlink_context
        if context is None:
            log.warning("downlink %s ignored: this courier applies no commands", body.message_type.value)
            return
        outcomes = downlink.receive(context, body)
        for outcome in outcomes:
            label = "repeated" if outcome.repeated else outcome.outcome  # repeated: confirmed again only
            self.stats.downlinks[f"{outcome.type}:{label}"] += 1
        if resequence.renumbered(outcomes):
            self.uplink.forget_record_flights()
        if context.server_keys is not self.channel.server:  # a rotate-key changed the server's keys
            self.channel = self.channel.with_keys(server=context.server_keys)
        self._next_confirm_check = 0.0  # confirm at once

    # -- health -----------------------------------------------------------------------------------

    def _set_problem(self, prefix: str, detail: object) -> None:
        self.problems = [p for p in self.problems if not p.startswith(prefix)]
        self.problems.append(f"{prefix} ({detail})")

    def _check_disk(self) -> None:
        if self.state_dir is None:
            return
        usage = shutil.disk_usage(self.state_dir)
        used = 1 - usage.free / usage.total if usage.total else 1.0
        prefix = "sync: disk holding the outbox"
        if used >= self.options.backlog_alert_fraction:
            if not any(p.startswith(prefix) for p in self.problems):
                log.error(
                    "the disk holding the outbox is %.0f%% full with %d records waiting; nothing is dropped,"
                    " free space or restore the link to the server",
                    used * 100,
                    self.backlog(),
                )
            self._set_problem(prefix, f"{used:.0%} full")
        else:
            self.problems = [p for p in self.problems if not p.startswith(prefix)]


# -- building one from a config file ------------------------------------------------------------------


def build(
    config: DeviceConfig,
    store: Store,
    *,
    stop: threading.Event,
    config_path: Path | None = None,
    clock: Clock | None = None,
    data_key: DataKey | None = None,
    options: CourierOptions | None = None,
    release_key: Path | None = None,
    update_applier: Applier | None = None,
) -> Courier:
    """A courier for ``config``: keys from the state folder and ``sync.server_key_file``; updates taken when
    ``release_key`` (default: ``release-signing.pub`` beside the config) exists, handed on by ``update_applier``."""
    sync = config.sync
    if sync.server_key_file is None:
        raise EdgehrError(
            "sync.server_key_file is not set: the courier cannot encrypt records to the server.",
            "Copy the server's public keys file to the device and name it in the config.",
        )
    state_dir = config.device.state_dir
    server_keys = load_peer_keys(sync.server_key_file)
    device_keys = load_device_keys(state_dir)  # made by `edgehr device provision`, maybe rotated since
    channel = DeviceChannel(config.device.id, device_keys.local_keys(), server_keys)
    server_key_file = sync.server_key_file

    def save_server_keys(peer: PeerKeys) -> None:
        save_peer_keys(server_key_file, peer)

    the_clock = clock or SystemClock()
    if data_key is None:
        data_key = load_data_key(data_key_path(state_dir), sealed_rows=store.sealed_rows)
    context = DownlinkContext(
        store=store,
        clock=the_clock,
        config=config,
        config_path=config_path,
        data_key=data_key,
        server_keys=server_keys,
        save_server_keys=save_server_keys,
    )
    release_key = release_key or (config_path.parent / "release-signing.pub" if config_path else None)
    if release_key is not None and release_key.exists():
        folder = state_dir / "updates"
        context.updates = Updates(folder, release_key, update_applier or request_file_applier(folder), store,
                                  the_clock, ca_file=sync.ca_file)
    return Courier(
        device_id=config.device.id,
        store=store,
        channel=channel,
        endpoint=Endpoint(sync.broker_host, sync.broker_port, sync.tls, sync.ca_file, sync.cert_file, sync.key_file),
        options=options or CourierOptions.of(config),
        clock=the_clock,
        stop=stop,
        downlink_context=context,
        backoff=Backoff(sync.backoff_min_seconds, sync.backoff_max_seconds),
        state_dir=state_dir,
        device_keys=device_keys,
    )


def main(argv: list[str] | None = None, *, after_start: Callable[[Courier], None] | None = None) -> int:
    """``python -m device.courier.courier --config FILE``: the courier as its own process (``process``)."""
    from device.courier.process import main as process_main

    return process_main(argv, build=build, after_start=after_start)


if __name__ == "__main__":
    sys.exit(main())
