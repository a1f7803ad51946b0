"""A small typed wrapper of paho-mqtt 2.x (MQTT 5) shared by the courier and the ingest workers.

The owner's thread drives the network: ``poll()`` connects (with backoff and jitter), runs paho's
loop for a bounded time and returns the messages that arrived. There is no hidden network thread, so
callbacks and the owner's database work never race, and a stop event ends every wait at once.

paho keeps the MQTT session (unacknowledged QoS 1 messages) in memory only; durability is the
outbox's job on the device and the store's on the server, never the client's.
"""

from __future__ import annotations

import logging
import select
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from core.errors import EdgehrError
from sync.backoff import Backoff

log = logging.getLogger(__name__)

#: MQTT 5 DISCONNECT reason "Disconnect with Will Message": a clean stop still tells the fleet
#: monitor the device is offline (the broker publishes the will).
_DISCONNECT_WITH_WILL = 0x04


@dataclass(frozen=True)
class Endpoint:
    """Where the broker is and how to authenticate to it."""

    host: str
    port: int
    tls: bool
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    #: Only for a plain test listener, where the broker takes the CONNECT user name as the identity.
    username: str | None = None

    def describe(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    retain: bool = True


@dataclass(frozen=True)
class Received:
    """One PUBLISH that arrived; ``mid`` and ``qos`` are what ``ack`` needs with manual acks."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    dup: bool


class MqttLink:
    """One MQTT 5 client with a persistent session, driven by ``poll()`` from its owner's thread."""

    def __init__(
        self,
        endpoint: Endpoint,
        client_id: str,
        *,
        stop: threading.Event,
        backoff: Backoff,
        session_expiry_seconds: int = 7 * 24 * 3600,
        keepalive_seconds: int = 15,
        will: Will | None = None,
        manual_ack: bool = False,
        max_inflight: int = 100,
        on_connect: Callable[[bool], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.client_id = client_id
        self._stop = stop
        self._backoff = backoff
        self._session_expiry = session_expiry_seconds
        self._keepalive = keepalive_seconds
        self._on_connect_cb = on_connect
        self._subscriptions: dict[str, int] = {}
        self._inbox: list[Received] = []
        self._connected = False
        self._socket_open = False
        self._next_attempt = 0.0
        self.connects = 0
        self.last_error = ""
        self.bytes_published = 0
        self.messages_published = 0

        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            manual_ack=manual_ack,
        )
        client.connect_timeout = 5.0
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(0)  # unbounded: the owner bounds what it hands over
        if endpoint.tls:
            missing = [n for n in ("ca_file", "cert_file", "key_file") if getattr(endpoint, n) is None]
            if missing:
                raise EdgehrError(
                    f"TLS to the broker {endpoint.describe()} needs {', '.join(missing)}.",
                    "Set the CA, certificate and key files in the fleet/broker section of the config.",
                )
            client.tls_set(
                ca_certs=str(endpoint.ca_file),
                certfile=str(endpoint.cert_file),
                keyfile=str(endpoint.key_file),
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if endpoint.username is not None:
            client.username_pw_set(endpoint.username)
        if will is not None:
            client.will_set(will.topic, will.payload, qos=1, retain=will.retain)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        self._client = client

    # -- state ------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe now if connected, and again after every (re)connect."""
        self._subscriptions[topic_filter] = qos
        if self._connected:
            self._client.subscribe(topic_filter, qos=qos)

    # -- driving the network ----------------------------------------------------------------------

    def poll(self, timeout: float) -> list[Received]:
        """Connect if due, run the network loop for at most ``timeout`` seconds, return arrivals."""
        if not self._socket_open:
            wait = self._next_attempt - time.monotonic()
            if wait > 0:
                self._stop.wait(min(timeout, wait))
                return self._take()
            self._attempt_connect()
            return self._take()
        rc = self._client.loop(timeout)
        # Drain what is already buffered without waiting (loop reads a bounded number of packets).
        rounds = 0
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and rounds < 1000 and self._readable_now():
            rc = self._client.loop(0.0)
            rounds += 1
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._lost(f"network loop: {paho.error_string(rc)}")
        return self._take()

    def _readable_now(self) -> bool:
        sock = self._client.socket()
        if sock is None:
            return False
        pending = getattr(sock, "pending", None)
        if callable(pending) and pending() > 0:
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def _attempt_connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self._session_expiry
        try:
            if self.connects == 0 and not self.last_error:
                self._client.connect(
                    self.endpoint.host,
                    self.endpoint.port,
                    keepalive=self._keepalive,
                    clean_start=False,
                    properties=properties,
                )
            else:
                self._client.reconnect()
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, TLS handshake failed
            self._lost(f"connect: {exc}")
            return
        self._socket_open = True

    def _lost(self, why: str) -> None:
        was_connected = self._connected
        self._connected = False
        self._socket_open = False
        delay = self._backoff.next_delay()
        self._next_attempt = time.monotonic() + delay
        if why != self.last_error or was_connected:
            log.warning(
                "MQTT link to %s down (%s); retrying in %.1f s",
                self.endpoint.describe(),
                why,
                delay,
                extra={"client_id": self.client_id},
            )
        self.last_error = why

    def _take(self) -> list[Received]:
        out, self._inbox = self._inbox, []
        return out

    # -- paho callbacks (run inside poll, on the owner's thread) ----------------------------------

    def _handle_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            self._client.disconnect()
            self._lost(f"broker refused the connection: {reason}")
            return
        self._connected = True
        self.connects += 1
        self._backoff.reset()
        self.last_error = ""
        for topic_filter, qos in self._subscriptions.items():
            client.subscribe(topic_filter, qos=qos)
        session_present = bool(getattr(flags, "session_present", False))
        log.info(
            "MQTT link to %s up",
            self.endpoint.describe(),
            extra={"client_id": self.client_id, "session_present": session_present},
        )
        if self._on_connect_cb is not None:
            self._on_connect_cb(session_present)

    def _handle_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if self._socket_open:
            self._lost(f"disconnected: {reason}")

    def _handle_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.append(
            Received(message.topic, bytes(message.payload), message.mid, message.qos, message.retain, message.dup)
        )

    # -- sending ----------------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        """Hand a message to the client; False (nothing queued) when not connected."""
        if not self._connected:
            return False
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            # paho keeps a QoS 1 message for the next connect anyway; the owner resends from its
            # own durable state, so the copy paho keeps can only become a harmless duplicate.
            self._lost("publish: not connected")
            return False
        self.bytes_published += len(payload)
        self.messages_published += 1
        return True

    def ack(self, message: Received) -> None:
        """PUBACK a message received with manual acks (after its effects are durable)."""
        if message.qos > 0 and self._socket_open:
            self._client.ack(message.mid, message.qos)

    def pending_publishes(self) -> int:
        """QoS 1 messages handed to the client that the broker has not PUBACKed yet."""
        return len(self._client._out_messages)  # paho exposes no public counter

    def close(self, *, with_will: bool = False, flush_seconds: float = 2.0) -> None:
        """Disconnect (optionally asking the broker to publish the will) and release the socket."""
        if self._socket_open:
            deadline = time.monotonic() + flush_seconds
            while self._connected and self.pending_publishes() and time.monotonic() < deadline:
                if self._client.loop(0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
            reason = ReasonCode(PacketTypes.DISCONNECT, identifier=_DISCONNECT_WITH_WILL if with_will else 0)
            self._socket_open = False
            self._connected = False
            self._client.disconnect(reasoncode=reason)
            self._client.loop(0.05)
        sock = self._client.socket()
        if sock is not None:  # paho closes it after sending DISCONNECT; this covers a lost link
            sock.close()
