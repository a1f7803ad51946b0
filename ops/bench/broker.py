"""Benchmark of the edgehr broker set-up: mosquitto with mutual TLS and the ACL, on loopback.

    PYTHONPATH=. python ops/bench/broker.py [--messages 5000] [--json]

Measures, on this machine, one client thread each: broker start until ready; a device's mutual-TLS
connect (TCP + TLS handshake + CONNACK); QoS 1 uplink throughput from one device to one ingest
subscriber through the ACL (publishes pipelined, timed until the subscriber has every message); and a
restart holding a backlog queued for an offline persistent session, timed until it is drained.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleet.broker import BrokerTls, Mosquitto, client_tls_context
from fleet.pki import INGEST_IDENTITY, create_ca, issue_client_cert, issue_server_cert

TIMEOUT = 120.0


class Client:
    def __init__(self, broker: Mosquitto, client_id: str, tls: Any, clean: bool = True) -> None:
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.tls_set_context(tls)
        self.c.max_inflight_messages_set(100)
        self.c.max_queued_messages_set(0)
        self.broker, self.clean = broker, clean
        self.connected = threading.Event()
        self.received = 0
        self.all_in = threading.Event()
        self.expect = 0
        self.c.on_connect = lambda *a: self.connected.set()
        self.c.on_message = self._message

    def _message(self, *_: Any) -> None:
        self.received += 1
        if self.received >= self.expect:
            self.all_in.set()

    def connect(self) -> float:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if not self.clean:
            props.SessionExpiryInterval = 3600
        start = time.perf_counter()
        self.c.connect(self.broker.host, self.broker.port, clean_start=self.clean, properties=props)
        self.c.loop_start()
        if not self.connected.wait(TIMEOUT):
            raise RuntimeError("no CONNACK")
        return time.perf_counter() - start

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def run(messages: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ca = create_ca(root / "ca")
        server = issue_server_cert(ca, root / "srv")
        certs = {cn: issue_client_cert(ca, cn, root / "clients") for cn in ("dev-a", INGEST_IDENTITY)}

        def tls(cn: str) -> Any:
            return client_tls_context(ca.cert_path, certs[cn].cert, certs[cn].key)

        broker = Mosquitto(root / "broker", tls=BrokerTls(ca.cert_path, server))
        start = time.perf_counter()
        broker.start()
        results = {"broker_start_s": time.perf_counter() - start}
        try:
            connects = []
            for i in range(20):
                client = Client(broker, f"dev-a-{i}", tls("dev-a"))
                connects.append(client.connect())
                client.close()
            results["tls_connect_ms_median"] = statistics.median(connects) * 1000

            sub = Client(broker, "ingest", tls(INGEST_IDENTITY), clean=False)
            sub.expect = messages
            sub.connect()
            sub.c.subscribe("edgehr/v1/+/up/#", qos=1)
            time.sleep(0.2)  # let the SUBACK land before timing (a bench, not a test)
            pub = Client(broker, "dev-a", tls("dev-a"))
            pub.connect()
            payload = bytes(300)  # about one sealed envelope of a few punches
            start = time.perf_counter()
            infos = [pub.c.publish("edgehr/v1/dev-a/up/punches", payload, qos=1) for _ in range(messages)]
            for info in infos:
                info.wait_for_publish(TIMEOUT)
            if not sub.all_in.wait(TIMEOUT):
                raise RuntimeError(f"ingest got {sub.received} of {messages}")
            results["qos1_uplink_msgs_per_s"] = messages / (time.perf_counter() - start)

            sub.close()  # offline persistent session: the broker queues the backlog
            for info in [pub.c.publish("edgehr/v1/dev-a/up/punches", payload, qos=1) for _ in range(messages)]:
                info.wait_for_publish(TIMEOUT)
            pub.close()
            start = time.perf_counter()
            broker.restart()
            results["restart_with_backlog_s"] = time.perf_counter() - start
            back = Client(broker, "ingest", tls(INGEST_IDENTITY), clean=False)
            back.expect = messages
            start = time.perf_counter()
            back.connect()
            if not back.all_in.wait(TIMEOUT):
                raise RuntimeError(f"backlog: got {back.received} of {messages}")
            results["backlog_drain_msgs_per_s"] = messages / (time.perf_counter() - start)
            back.close()
        finally:
            broker.stop()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.messages)
    if args.json:
        print(json.dumps({"messages": args.messages, **results}, indent=2))
        return
    print(f"{'measure':<28}{'value':>12}")
    for name, value in results.items():
        print(f"{name:<28}{value:>12.2f}")


if __name__ == "__main__":
    main()
