"""The site CA as loaded from its folder: what issuing (``fleet.pki``) and revoking (``fleet.revocation``)
both hold, kept apart from either so neither needs the other to name it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

CA_KEY = "ca.key"
CA_CERT = "ca.crt"


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA loaded from its folder; ``issue_*`` and ``sign_csr`` use it."""

    folder: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_path(self) -> Path:
        return self.folder / CA_CERT
