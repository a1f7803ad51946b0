"""Revoking a device on the HR server also revokes its broker certificate, when the server holds the CA.

Revoking in the HR store makes ingest refuse the device's envelopes; revoking its certificate keeps it off
the broker as well (mosquitto refuses the TLS handshake once it has reloaded the CRL). Sites that keep the
CA offline leave ``pki.ca_dir`` empty: the answer then carries the exact command to run there.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from core.errors import EdgehrError
from fleet import pki_cli
from fleet.pki import load_ca
from fleet.revocation import CRL_FILE, revoke
from sync.server.config import PkiSection
from sync.server.store import HRStore, devices

log = logging.getLogger(__name__)


def revoke_device(store: HRStore, settings: PkiSection, device_id: str, actor: str, reason: str = "") -> dict[str, Any]:
    """Revoke a device in the HR store (audited, with ``reason`` when given) and then its certificate: what
    the API's revoke route and the devices page both do. The device as stored, with ``certificate``."""
    device = devices.revoke(store, device_id, actor, reason)
    return device | {"certificate": revoke_device_certificate(settings, device_id)}


def revoke_device_certificate(settings: PkiSection, device_id: str) -> dict[str, Any]:
    """Revoke ``device_id``'s certificates and publish the CRL; say what was done and what is left to do."""
    if settings.ca_dir is None:
        return {
            "revoked": False,
            "command": f"ops/ca/edgehr-ca revoke CA_DIR --device-id {device_id}",
            "then": pki_cli.reload_hint(settings.crl_file or Path("CA_DIR") / CRL_FILE),
        }
    try:
        ca = load_ca(settings.ca_dir)
        done = revoke(ca, common_name=device_id)
        crl = ca.folder / CRL_FILE
        if settings.crl_file is not None:
            tmp = settings.crl_file.with_name(f".{settings.crl_file.name}.tmp")
            shutil.copyfile(crl, tmp)
            os.replace(tmp, settings.crl_file)  # the broker never reads half a CRL
            crl = settings.crl_file
    except (EdgehrError, OSError) as exc:
        # The device is already refused by ingest; the certificate part is reported, never hidden.
        log.error("device %s revoked, but its certificate was not: %s", device_id, exc)
        fix = exc.fix if isinstance(exc, EdgehrError) else "Check pki.ca_dir and pki.crl_file in the server config."
        return {
            "revoked": False,
            "error": str(exc.what if isinstance(exc, EdgehrError) else exc),
            "fix": fix,
            "command": f"ops/ca/edgehr-ca revoke {settings.ca_dir} --device-id {device_id}",
        }
    log.warning("device %s: certificate serials %s revoked; CRL %s", device_id, [r.serial for r in done], crl)
    return {
        "revoked": True,
        "serials": [r.serial for r in done],
        "crl": str(crl),
        "then": "Reload the broker so it reads the new CRL: `systemctl reload mosquitto` (SIGHUP).",
    }

