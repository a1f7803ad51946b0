"""The central server's configuration: broker connection, ingest workers, store and HR API."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator

from core.config.base import LoggingSection, Section, field
from sync.mqtt import Endpoint
from sync.server.suite_config import SuitesSection


class ServerSection(Section):
    name: str = field("edgehr", "Server name", "Name shown on HR pages.", max_length=80)
    state_dir: Path = field(
        Path("/var/lib/edgehr-server"), "State folder", "Holds the HR database (SQLite), keys and logs."
    )
    database_url: str = field(
        "",
        "Database URL",
        "Empty: SQLite in the state folder. postgresql://... to share one PostgreSQL between ingest workers.",
    )
    timezone: str = field("Asia/Shanghai", "Time zone", "IANA time zone timesheets are computed in.")

    @model_validator(mode="after")
    def _url_scheme(self) -> ServerSection:
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://", "sqlite:///")):
            raise ValueError("server.database_url must start with postgresql:// or sqlite:///, or be empty")
        return self


class BrokerSection(Section):
    host: str = field("127.0.0.1", "Broker host", "MQTT broker the ingest workers subscribe to.")
    port: int = field(8883, "Broker port", "MQTT broker port (8883 for TLS).", ge=1, le=65535)
    tls: bool = field(True, "TLS", "Connect with mutual TLS.")
    ca_file: Path | None = field(None, "CA certificate", "CA that signed the broker's certificate.")
    cert_file: Path | None = field(None, "Client certificate", "The server's client certificate for the broker.")
    key_file: Path | None = field(None, "Client certificate key", "Private key of the client certificate.")

    @model_validator(mode="after")
    def _tls_needs_files(self) -> BrokerSection:
        if self.tls:
            missing = [n for n in ("ca_file", "cert_file", "key_file") if getattr(self, n) is None]
            if missing:
                raise ValueError("broker.tls needs " + ", ".join(f"broker.{n}" for n in missing))
        return self

    def endpoint(self) -> Endpoint:
        return Endpoint(self.host, self.port, self.tls, self.ca_file, self.cert_file, self.key_file)


class IngestSection(Section):
    workers: int = field(
        2, "Ingest workers", "Processes sharing the device uplink (MQTT 5 shared subscription).", ge=1, le=64
    )
    share_group: str = field(
        "ingest", "Share group", "MQTT 5 shared-subscription group name.", pattern=r"^[A-Za-z0-9_-]{1,32}$"
    )


class ApiSection(Section):
    host: str = field("127.0.0.1", "API address", "Address the HR API and pages listen on.")
    port: int = field(8443, "API port", "TCP port of the HR API and pages.", ge=1, le=65535)


class WebhooksSection(Section):
    enabled: bool = field(True, "Deliver webhooks", "Send queued webhook deliveries from `edgehr server run`.")
    interval_seconds: float = field(
        5.0, "Delivery interval", "Seconds between two looks for due deliveries.", gt=0, le=3600
    )
    first_retry_seconds: float = field(
        30.0, "First retry", "Wait after a failed attempt; it doubles with each failure in a row.", gt=0, le=86400
    )
    max_retry_seconds: float = field(
        43200.0, "Longest retry wait", "The doubling waits stop growing here (12 h).", gt=0, le=7 * 86400
    )
    max_attempts: int = field(
        12, "Attempts", "Failed attempts before a delivery is dead-lettered (GET /api/webhooks/dead-letters).",
        ge=1, le=100,
    )
    timeout_seconds: float = field(10.0, "Request timeout", "Seconds a receiver has to answer.", gt=0, le=120)
    batch: int = field(100, "Batch", "Deliveries tried per round at most.", ge=1, le=10_000)
    allow_private_targets: bool = field(
        False,
        "Allow internal receivers",
        "Deliver to webhook URLs whose host is or resolves to a private, loopback or link-local address"
        " (10/8, 172.16/12, 192.168/16, 127/8, 169.254/16, fc00::/7, ...). Off: such deliveries are refused,"
        " so a webhook cannot be used to reach services inside the site's network.",
    )

    @model_validator(mode="after")
    def _waits_in_order(self) -> WebhooksSection:
        if self.max_retry_seconds < self.first_retry_seconds:
            raise ValueError("webhooks.max_retry_seconds must be at least webhooks.first_retry_seconds")
        return self


class PkiSection(Section):
    ca_dir: Path | None = field(
        None,
        "CA folder",
        "The site CA (made by ops/ca/edgehr-ca init). Set: revoking a device also revokes its broker certificate"
        " and rewrites the CRL. Empty: the API answers with the edgehr-ca command to run where the CA is kept.",
    )
    crl_file: Path | None = field(
        None,
        "Broker CRL file",
        "The broker's crlfile; after a revocation the new CRL is copied here. Empty: the CA's own crl.pem.",
    )


class MetricsSection(Section):
    enabled: bool = field(True, "Serve metrics", "Serve Prometheus metrics at GET /api/metrics on the HR API's port.")
    token_file: Path | None = field(
        None,
        "Scrape token file",
        "A file (mode 0640) holding the token Prometheus sends as 'Authorization: Bearer <token>'; it reads "
        "/api/metrics and nothing else. Empty: only an HR API token of role admin or it may read them.",
    )


class ServerConfig(Section):
    """Root of the central server's configuration file."""

    schema_version: int = field(1, "Schema version", "Version of this file's layout; older files are migrated.")
    role: Literal["server"] = field("server", "Role", "Which program this file configures.")
    server: ServerSection = field(ServerSection(), "Server", "Identity, state and database.")
    broker: BrokerSection = field(..., "Broker", "MQTT broker connection.")
    ingest: IngestSection = field(IngestSection(), "Ingest", "Workers that store device records.")
    api: ApiSection = field(ApiSection(), "HR API", "HTTP API and HR pages.")
    pki: PkiSection = field(PkiSection(), "PKI", "The site CA, for revoking device certificates.")
    webhooks: WebhooksSection = field(WebhooksSection(), "Webhooks", "Delivery of outgoing webhooks.")
    suites: SuitesSection = field(SuitesSection(), "HR suites", "WeCom, DingTalk and Feishu apps punches go to.")
    metrics: MetricsSection = field(MetricsSection(), "Metrics", "Prometheus /metrics and who may read it.")
    logging: LoggingSection = field(LoggingSection(), "Logging", "Log level and format.")
