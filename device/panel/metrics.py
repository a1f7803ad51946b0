"""The terminal's Prometheus ``/metrics``: punches, refusals by reason, decision latency, outbox backlog, age
of the last acknowledgement, clock sync, disk and CPU temperature.

Every app gets its own :class:`CollectorRegistry` (never prometheus-client's global one), so two terminals
in one process (tests, the demo) do not collide. Most values are read when Prometheus scrapes, from what
the terminal already keeps (the kiosk loop's counters, the health report, the outbox); only the decision
latency histogram is fed as the loop decides (:meth:`DeviceMetrics.observe_decision`).

Who may read it: the terminal itself (a loopback client: a node exporter's textfile job, an SSH tunnel) or
a scraper that sends ``Authorization: Bearer <panel.metrics_token>``. Anyone else gets 403, even where the
panel listens on the LAN for its admin pages.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from device.attendance.counters import KioskCounters
from device.health import Health
from device.panel.kiosk import is_loopback
from device.store import Store, outbox

if TYPE_CHECKING:
    from device.attendance.kiosk import Kiosk
    from device.attendance.outcomes import Outcome
    from device.config.device import DeviceConfig
    from device.courier.courier import Courier

#: Seconds a frame takes from the camera to the kiosk's verdict on it (the pipeline, the gallery, the rules,
#: the punch's transaction). A Pi 4 decides in 0.1-0.4 s; a bucket past 2 s means a stalled terminal.
DECISION_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class DeviceSources:
    """Where the scrape reads from; each is called once per scrape, from the panel's thread."""

    device_id: str
    health: Callable[[], Health]
    counters: Callable[[], KioskCounters] | None = None
    #: When the server last acknowledged a record (epoch seconds), None if never.
    last_ack: Callable[[], float | None] | None = None
    #: The courier's counts: ``{"resends": n, ...}`` and downlink refusals by reason.
    courier: Callable[[], tuple[dict[str, int], dict[str, int]]] | None = None
    now: Callable[[], float] | None = None


class DeviceMetrics:
    """The registry of one terminal's metrics."""

    def __init__(self, sources: DeviceSources) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.decision_seconds = Histogram(
            "edgehr_device_decision_seconds",
            "Seconds from a camera frame to the kiosk's verdict on it, by outcome.",
            ["outcome"],
            buckets=DECISION_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Snapshot(sources))

    def observe_decision(self, outcome: str, seconds: float) -> None:
        self.decision_seconds.labels(outcome=outcome).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Snapshot(Collector):
    """The values read at scrape time."""

    def __init__(self, sources: DeviceSources) -> None:
        self.sources = sources

    def describe(self) -> Iterator[Metric]:
        return iter(())  # read only at scrape time: registering must not query the store

    def collect(self) -> Iterator[Metric]:
        src = self.sources
        labels = ["device"]
        dev = [src.device_id]
        report = src.health()
        yield _gauge("edgehr_device_up", "1 while the terminal's panel answers (always 1 when scraped).", dev, 1)
        yield _gauge("edgehr_device_healthy", "1 when the health report is ok (database, disk, camera).", dev,
                     int(report.ok))
        yield _gauge("edgehr_device_outbox_backlog", "Records waiting for the server's acknowledgement.", dev,
                     max(report.backlog, 0))
        yield _gauge("edgehr_device_clock_synced", "1 when the system clock is synchronised (timesyncd).", dev,
                     int(report.clock_synced))
        yield _gauge("edgehr_device_disk_free_bytes", "Free bytes on the state folder's file system.", dev,
                     report.disk_free_bytes)
        yield _gauge("edgehr_device_disk_used_ratio", "Used fraction of the state folder's file system (0-1).",
                     dev, round(1 - report.disk_free_fraction, 4))
        temperature = GaugeMetricFamily("edgehr_device_cpu_temperature_celsius",
                                        "CPU temperature (thermal_zone0); no sample where none is exposed.",
                                        labels=labels)
        if report.cpu_temp_c is not None:
            temperature.add_metric(dev, report.cpu_temp_c)
        yield temperature
        yield from self._last_ack(dev)
        if src.counters is not None:
            yield from _kiosk(src.counters(), dev)
        if src.courier is not None:
            yield from _courier(*src.courier(), dev)

    def _last_ack(self, dev: list[str]) -> Iterator[Metric]:
        if self.sources.last_ack is None:
            return
        at = self.sources.last_ack()
        stamp = GaugeMetricFamily("edgehr_device_last_ack_timestamp_seconds",
                                  "When the server last acknowledged a record (Unix time); none if never.",
                                  labels=["device"])
        age = GaugeMetricFamily("edgehr_device_last_ack_age_seconds",
                                "Seconds since the server last acknowledged a record; none if never.",
                                labels=["device"])
        if at is not None:
            now = self.sources.now() if self.sources.now is not None else time.time()
            stamp.add_metric(dev, at)
            age.add_metric(dev, max(0.0, now - at))
        yield stamp
        yield age


def _gauge(name: str, doc: str, dev: list[str], value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["device"])
    family.add_metric(dev, value)
    return family


def _kiosk(c: KioskCounters, dev: list[str]) -> Iterator[Metric]:
    punches = CounterMetricFamily("edgehr_device_punches", "Punches recorded since the terminal started.",
                                  labels=["device"])
    punches.add_metric(dev, c.punches)
    yield punches
    frames = CounterMetricFamily("edgehr_device_frames", "Camera frames the kiosk loop processed.", labels=["device"])
    frames.add_metric(dev, c.frames)
    yield frames
    refused = CounterMetricFamily(
        "edgehr_device_rejections",
        "Faces and claims the kiosk refused, by reason: unknown, spoof, debounced, punch-failed, "
        "poor-image:<why>, claim:<code>. Counted once per person, not per frame.",
        labels=["device", "reason"],
    )
    plain = {"unknown": c.unknown, "spoof": c.spoof, "debounced": c.debounced, "punch-failed": c.punch_failed}
    for reason, count in plain.items():
        refused.add_metric([*dev, reason], count)
    for why, count in sorted(c.poor_image.items()):
        refused.add_metric([*dev, f"poor-image:{why}"], count)
    for code, count in sorted(c.claims_refused.items()):
        refused.add_metric([*dev, f"claim:{code}"], count)
    yield refused


def _courier(counts: dict[str, int], refused: dict[str, int], dev: list[str]) -> Iterator[Metric]:
    for key, doc in (("records_sent", "Records published (first sends)."),
                     ("resends", "Messages published again after no acknowledgement came in time."),
                     ("delivered", "Records the server acknowledged.")):
        family = CounterMetricFamily(f"edgehr_device_courier_{key}", doc, labels=["device"])
        family.add_metric(dev, counts.get(key, 0))
        yield family
    downlink = CounterMetricFamily("edgehr_device_downlink_rejections",
                                   "Messages from the server the courier refused, by protocol reason.",
                                   labels=["device", "reason"])
    for reason, count in sorted(refused.items()):
        downlink.add_metric([*dev, reason], count)
    yield downlink


class MetricsAccess:
    """A dependency: the terminal itself (loopback), or a scraper with ``Authorization: Bearer <token>``."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    def __call__(self, request: Request) -> None:
        if is_loopback(request.client.host if request.client else ""):
            return
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        bearer = sent.strip() if scheme.lower() == "bearer" else ""
        if self.token and bearer and hmac.compare_digest(bearer.encode(), self.token.encode()):
            return
        raise HTTPException(403, "The terminal's /metrics are served to the terminal itself, or to a scraper that "
                                 "sends 'Authorization: Bearer <panel.metrics_token>' (set it in the device "
                                 "configuration).")


def metrics_router(metrics: DeviceMetrics, *, token: str | None) -> APIRouter:
    """GET /metrics in Prometheus's text format, for loopback clients or the bearer of ``token``."""
    router = APIRouter(dependencies=[Depends(MetricsAccess(token))])

    @router.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    return router


class _Terminal(Protocol):
    """What :func:`terminal_sources` reads of a ``device.runner.Terminal``."""

    config: DeviceConfig
    store: Store
    kiosk: Kiosk
    courier: Courier | None

    def health(self) -> Health: ...


def terminal_sources(terminal: _Terminal) -> DeviceSources:
    """The sources of a running terminal: its health report, kiosk counters, outbox and courier."""

    def last_ack() -> float | None:
        at_ms = outbox.last_delivered_ms(terminal.store)
        return at_ms / 1000 if at_ms is not None else None

    def courier() -> tuple[dict[str, int], dict[str, int]]:
        if terminal.courier is None:
            return {}, {}
        stats = terminal.courier.stats
        counts = {"records_sent": stats.records_sent, "resends": stats.resends, "delivered": stats.delivered}
        return counts, dict(stats.rejected)

    return DeviceSources(
        device_id=terminal.config.device.id,
        health=terminal.health,
        counters=terminal.kiosk.counters,
        last_ack=last_ack,
        courier=courier if terminal.courier is not None else None,
        now=lambda: terminal.kiosk.clock.now().timestamp(),
    )


def terminal_metrics(terminal: _Terminal) -> APIRouter:
    """GET /metrics for a running terminal; its kiosk loop then feeds the decision latency histogram."""
    metrics = DeviceMetrics(terminal_sources(terminal))

    def observe(outcome: Outcome, seconds: float) -> None:
        metrics.observe_decision(outcome.kind, seconds)

    terminal.kiosk.on_decision = observe
    return metrics_router(metrics, token=terminal.config.panel.metrics_token)
