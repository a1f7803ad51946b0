"""The HR server's Prometheus metrics: stored records and punches (ingest rate = their rate()), rejections
by protocol reason, dead letters, webhook dead letters and backlog, devices, each device's last record.

Read from the shared store when Prometheus scrapes (``sync.server.store.metrics_rows``), so the workers'
counts on every host add up in one place. Each app has its own :class:`CollectorRegistry`: never the
process-wide default, so several apps in one process (tests) do not collide. A scrape costs a few
``count(*)`` over the records and punches tables: scrape every 30-60 s, not every second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sync.protocol import Reason
from sync.protocol.records import RECORD_TYPES
from sync.server.store import HRStore
from sync.server.store.metrics_rows import StoreCounts, counts


class ServerMetrics:
    def __init__(self, store: HRStore, *, server_name: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_StoreCollector(lambda: counts(store), server_name))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StoreCollector(Collector):
    def __init__(self, read: Callable[[], StoreCounts], server_name: str) -> None:
        self.read = read
        self.server_name = server_name

    def describe(self) -> Iterator[Metric]:
        return iter(())  # read only at scrape time: registering must not query the store

    def collect(self) -> Iterator[Metric]:
        c = self.read()
        records = CounterMetricFamily("edgehr_server_records_stored",
                                      "Device records stored, each (device, seq) once, by type. Ingest rate: "
                                      "rate() of this.", labels=["type"])
        for kind in sorted(set(RECORD_TYPES) | set(c.records_by_type)):  # every type, 0 before the first
            records.add_metric([kind], c.records_by_type.get(kind, 0))
        yield records
        punches = CounterMetricFamily("edgehr_server_punches_stored",
                                      "Punches stored, by whether the device's clock was synchronised.",
                                      labels=["clock_synced"])
        for flag in (True, False):
            punches.add_metric(["true" if flag else "false"], c.punches_by_clock.get(flag, 0))
        yield punches
        rejections = CounterMetricFamily("edgehr_server_rejections",
                                         "Uplink messages or records refused, by protocol reason (PROTOCOL.md 11).",
                                         labels=["reason"])
        for reason in sorted({r.value for r in Reason} | set(c.rejections_by_reason)):
            rejections.add_metric([reason], c.rejections_by_reason.get(reason, 0))
        yield rejections
        yield _gauge("edgehr_server_dead_letters", "Uplink messages kept as dead letters (GET /api/dead-letters).",
                     c.dead_letters)
        yield _gauge("edgehr_server_webhook_dead_letters",
                     "Webhook deliveries given up on (GET /api/webhooks/dead-letters).", c.webhook_dead_letters)
        yield _gauge("edgehr_server_webhook_pending", "Webhook deliveries queued, not yet delivered.",
                     c.webhook_pending)
        devices = GaugeMetricFamily("edgehr_server_devices", "Registered devices by status.", labels=["status"])
        for status in ("active", "revoked"):
            devices.add_metric([status], c.devices_by_status.get(status, 0))
        yield devices
        last = GaugeMetricFamily("edgehr_server_device_last_record_timestamp_seconds",
                                 "When the newest record of each device was stored (Unix time).", labels=["device"])
        for device, at in sorted(c.last_record_at.items()):
            last.add_metric([device], at)
        yield last
        info = GaugeMetricFamily("edgehr_server_info", "This HR server (always 1).", labels=["server"])
        info.add_metric([self.server_name], 1)
        yield info


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], value)
    return family
