"""The terminal's screens: what the kiosk screen shows and to whom, and where the web panel listens."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from core.config.base import Section, field


class KioskSection(Section):
    preview: bool = field(
        False,
        "Camera preview",
        "Show a small live camera picture on the kiosk screen (kept in memory only, never stored).",
    )
    banner_seconds: float = field(
        4.0, "Result display time", "Seconds a punch result stays on the kiosk screen.", ge=1, le=30
    )
    access_token: str | None = field(
        None,
        "Kiosk screen token",
        "The kiosk screen (last punch's name and time, camera preview, counters) is served only to the "
        "terminal's own browser. To show it on another screen, set a long random token here (at least 24 "
        "characters) and open /kiosk?token=<token> once there. Empty: the terminal's own browser only.",
        min_length=24,
        max_length=200,
        pattern=r"^[A-Za-z0-9._~-]+$",
    )


class PanelSection(Section):
    host: str = field("127.0.0.1", "Panel address", "Address the local panel listens on (0.0.0.0 for the LAN).")
    port: int = field(8080, "Panel port", "TCP port of the local panel and kiosk screen.", ge=1, le=65535)
    tls_cert_file: Path | None = field(
        None,
        "Panel TLS certificate",
        "PEM certificate the panel is served with over HTTPS (issued by the site CA for this terminal's name and "
        "address, e.g. ops/ca/edgehr-ca server). Set it whenever panel.host is not 127.0.0.1: the admin password, "
        "session cookie and enrolment photos otherwise cross the LAN in clear. Empty: plain HTTP.",
    )
    tls_key_file: Path | None = field(None, "Panel TLS key", "Private key of panel.tls_cert_file (PEM, mode 0600).")
    metrics_token: str | None = field(
        None,
        "Metrics token",
        "GET /metrics (Prometheus) is served to the terminal itself; a scraper elsewhere sends 'Authorization: "
        "Bearer <this token>' (a long random token, at least 24 characters). Empty: loopback clients only.",
        min_length=24,
        max_length=200,
        pattern=r"^[A-Za-z0-9._~-]+$",
    )

    @model_validator(mode="after")
    def _cert_and_key(self) -> PanelSection:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("panel.tls_cert_file and panel.tls_key_file go together: set both or neither")
        return self
