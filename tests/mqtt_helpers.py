"""Helpers for tests against a real mosquitto: a scratch site CA and a blocking MQTT 5 test client.

The fixtures that use them (``ca``, ``broker``, ``plain_broker``) are in tests/broker_fixtures.py. Every
client joins its network thread on ``close`` (or leaving its ``with`` block), so the leak check passes.
"""

from __future__ import annotations

import queue
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fleet.broker import BrokerTls, Mosquitto, client_tls_context
from fleet.pki import INGEST_IDENTITY, CertFiles, CertificateAuthority, create_ca, issue_client_cert, issue_server_cert

WAIT = 10.0  # seconds any single broker round trip may take before a test fails


@dataclass
class SiteCa:
    """A scratch CA with the broker's certificate and client certificates issued on demand."""

    authority: CertificateAuthority
    folder: Path
    server: CertFiles
    clients: dict[str, CertFiles] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path:
        return self.authority.cert_path

    @property
    def broker_tls(self) -> BrokerTls:
        return BrokerTls(self.ca_file, self.server)

    def client(self, common_name: str) -> CertFiles:
        if common_name not in self.clients:
            self.clients[common_name] = issue_client_cert(self.authority, common_name, self.folder / "clients")
        return self.clients[common_name]

    def tls_context(self, common_name: str) -> ssl.SSLContext:
        files = self.client(common_name)
        return client_tls_context(self.ca_file, files.cert, files.key)

    @property
    def ingest(self) -> CertFiles:
        return self.client(INGEST_IDENTITY)


def make_site_ca(folder: Path) -> SiteCa:
    authority = create_ca(folder / "ca")
    return SiteCa(authority, folder, issue_server_cert(authority, folder / "server"))


class ConnectFailed(Exception):
    """The broker refused or dropped the connection before accepting it."""


class MqttTestClient:
    """A paho MQTT 5 client with blocking helpers: connect, subscribe, publish (awaiting the PUBACK), receive."""

    def __init__(
        self,
        broker: Mosquitto,
        client_id: str,
        *,
        tls: ssl.SSLContext | None = None,
        username: str | None = None,
        clean_start: bool = True,
        session_expiry: int = 0,
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.broker = broker
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if tls is not None:
            self.client.tls_set_context(tls)
        if username is not None:
            self.client.username_pw_set(username)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.clean_start = clean_start
        self.session_expiry = session_expiry
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._subacks: dict[int, queue.Queue[list[ReasonCode]]] = {}
        self._pubacks: dict[int, queue.Queue[ReasonCode]] = {}
        self.disconnects: queue.Queue[ReasonCode] = queue.Queue()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self._looping = False

    # paho callbacks (run on paho's network thread; they only hand results to queues)
    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        self._connack.put(reason)

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: ReasonCode, _p: Any) -> None:
        self.disconnects.put(reason)
        self._connack.put(reason)  # wakes a connect() still waiting for its CONNACK

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        self._subacks.setdefault(mid, queue.Queue()).put(reasons)

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        self._pubacks.setdefault(mid, queue.Queue()).put(reason)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put(message)

    def connect(self) -> ReasonCode:
        """Connect and wait for the CONNACK; raise ConnectFailed if the broker refuses or hangs up."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self.session_expiry:
            properties.SessionExpiryInterval = self.session_expiry
        try:
            self.client.connect(
                self.broker.host, self.broker.port, keepalive=30, clean_start=self.clean_start, properties=properties
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(f"connect raised {exc!r}") from exc
        self.client.loop_start()
        self._looping = True
        try:
            reason = self._connack.get(timeout=WAIT)
        except queue.Empty:
            raise ConnectFailed("no CONNACK and no disconnect") from None
        if reason.is_failure or not self.client.is_connected():
            raise ConnectFailed(f"refused: {reason}")
        return reason

    def subscribe(self, topic: str, qos: int = 1) -> list[ReasonCode]:
        result, mid = self.client.subscribe(topic, qos=qos)
        assert result == mqtt.MQTT_ERR_SUCCESS and mid is not None
        return self._subacks.setdefault(mid, queue.Queue()).get(timeout=WAIT)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> ReasonCode:
        """Publish and, for QoS 1, return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS and info.mid is not None
        return self._pubacks.setdefault(info.mid, queue.Queue()).get(timeout=WAIT)

    def receive(self, timeout: float = WAIT) -> mqtt.MQTTMessage | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def receive_many(self, count: int, timeout: float = WAIT) -> list[mqtt.MQTTMessage]:
        received = []
        for _ in range(count):
            message = self.receive(timeout)
            if message is None:
                break
            received.append(message)
        return received

    def close(self) -> None:
        if self.client.is_connected():
            self.client.disconnect()
        if self._looping:
            self.client.loop_stop()
            self._looping = False

    def __enter__(self) -> MqttTestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
