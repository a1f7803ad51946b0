"""The site CA (fleet.pki) and its command line (ops/ca/edgehr-ca -> fleet.pki_cli)."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import EdgehrError
from core.paths import CHECKOUT
from fleet import pki, pki_cli


@pytest.fixture
def authority(tmp_path: Path) -> pki.CertificateAuthority:
    return pki.create_ca(tmp_path / "ca")


def csr_with(common_name: str, key: ec.EllipticCurvePrivateKey, ask_ca: bool = False) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    )
    if ask_ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_ca_key_is_private_and_ca_is_never_replaced(authority: pki.CertificateAuthority) -> None:
    assert (authority.folder / pki.CA_KEY).stat().st_mode & 0o777 == 0o600
    constraints = authority.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    before = (authority.folder / pki.CA_CERT).read_bytes()
    with pytest.raises(EdgehrError, match="already holds a CA"):
        pki.create_ca(authority.folder)
    assert (authority.folder / pki.CA_CERT).read_bytes() == before
    loaded = pki.load_ca(authority.folder)
    assert loaded.cert == authority.cert


def test_load_ca_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EdgehrError, match="ca.crt is missing"):
        pki.load_ca(tmp_path)


def test_server_certificate_names_loopback_and_this_host(authority: pki.CertificateAuthority, tmp_path: Path) -> None:
    files = pki.issue_server_cert(
        authority, tmp_path / "srv", hostnames=["hr.example.internal"], addresses=["10.0.0.5"]
    )
    cert = pki.verify_issued(authority, files.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = set(san.get_values_for_type(x509.DNSName))
    assert {"localhost", "hr.example.internal"} <= names
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.0.0.5"}
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert files.key.stat().st_mode & 0o777 == 0o600
    # Python's own TLS stack accepts the pair and the CA chain.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(authority.cert_path))
    context.load_cert_chain(str(files.cert), str(files.key))


def test_client_certificate_carries_identity_and_client_usage(
    authority: pki.CertificateAuthority, tmp_path: Path
) -> None:
    files = pki.issue_client_cert(authority, pki.INGEST_IDENTITY, tmp_path / "clients")
    cert = pki.verify_issued(authority, files.cert)
    assert pki.common_name_of(cert) == pki.INGEST_IDENTITY
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_certificate_from_another_ca_fails_verification(authority: pki.CertificateAuthority, tmp_path: Path) -> None:
    other = pki.create_ca(tmp_path / "other")
    files = pki.issue_client_cert(other, "dev-a", tmp_path / "other-clients")
    with pytest.raises(EdgehrError, match="was not issued by"):
        pki.verify_issued(authority, files.cert)


@pytest.mark.parametrize("name", ["dev/a", "dev+a", "#", "Dev-A", "", "-dev", "a" * 65, "dev%u"])
def test_client_names_that_could_escape_the_acl_are_refused(
    authority: pki.CertificateAuthority, tmp_path: Path, name: str
) -> None:
    if 1 <= len(name) <= 64:  # X.509 itself bounds a common name's length; cryptography will not build others
        with pytest.raises(EdgehrError, match="cannot be a client certificate name"):
            pki.sign_csr(authority, csr_with(name, pki.new_private_key()), tmp_path / "x.crt")
    with pytest.raises(EdgehrError, match="cannot be a client certificate name"):
        pki.issue_client_cert(authority, name, tmp_path)
    assert not (tmp_path / "x.crt").exists()


def test_sign_csr_certifies_the_requesting_key(authority: pki.CertificateAuthority, tmp_path: Path) -> None:
    key = pki.new_private_key()
    out = tmp_path / "dev-a.crt"
    assert pki.sign_csr(authority, pki.make_csr(key, "dev-a"), out, expected_cn="dev-a") == "dev-a"
    cert = pki.verify_issued(authority, out)
    assert pki.common_name_of(cert) == "dev-a"
    assert cert.public_key() == key.public_key()


def test_sign_csr_refuses_another_identity_than_expected(authority: pki.CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(EdgehrError, match="not the expected 'dev-b'"):
        pki.sign_csr(authority, pki.make_csr(pki.new_private_key(), "dev-a"), tmp_path / "x.crt", expected_cn="dev-b")
    assert not (tmp_path / "x.crt").exists()


def test_sign_csr_never_issues_the_ingest_identity(authority: pki.CertificateAuthority, tmp_path: Path) -> None:
    with pytest.raises(EdgehrError, match="ingest identity"):
        pki.sign_csr(authority, csr_with(pki.INGEST_IDENTITY, pki.new_private_key()), tmp_path / "x.crt")


def test_sign_csr_ignores_requested_extensions(authority: pki.CertificateAuthority, tmp_path: Path) -> None:
    out = tmp_path / "dev-a.crt"
    pki.sign_csr(authority, csr_with("dev-a", pki.new_private_key(), ask_ca=True), out)
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_tampered_or_garbage_requests_are_refused(authority: pki.CertificateAuthority, tmp_path: Path) -> None:
    good = pki.make_csr(pki.new_private_key(), "dev-a")
    der = bytearray(x509.load_pem_x509_csr(good).public_bytes(serialization.Encoding.DER))
    at = bytes(der).find(b"dev-a")
    der[at : at + 5] = b"dev-b"  # same length: still parses, but the signature no longer matches
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(EdgehrError, match="invalid signature"):
        pki.sign_csr(authority, tampered, tmp_path / "x.crt")
    with pytest.raises(EdgehrError, match="not a PEM certificate request"):
        pki.sign_csr(authority, b"hello", tmp_path / "x.crt")


def test_cli_makes_a_site_and_signs_a_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ca_dir = tmp_path / "ca"
    assert pki_cli.main(["init", str(ca_dir)]) == 0
    assert pki_cli.main(["init", str(ca_dir)]) == 1
    assert "already holds a CA" in capsys.readouterr().err
    assert pki_cli.main(["server", str(ca_dir), "--out", str(tmp_path / "srv"), "--hostname", "hr.local"]) == 0
    assert pki_cli.main(["client", str(ca_dir), pki.INGEST_IDENTITY, "--out", str(tmp_path / "ingest")]) == 0
    csr = tmp_path / "tls.csr"
    csr.write_bytes(pki.make_csr(pki.new_private_key(), "dev-a"))
    out = tmp_path / "dev-a.crt"
    assert pki_cli.main(["sign", str(ca_dir), "--csr", str(csr), "--device-id", "dev-a", "--out", str(out)]) == 0
    capsys.readouterr()
    assert pki_cli.main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "subject: CN=dev-a" in shown and "issuer:  CN=edgehr site CA" in shown
    authority = pki.load_ca(ca_dir)
    for cert in (out, tmp_path / "srv" / "broker.crt", tmp_path / "ingest" / f"{pki.INGEST_IDENTITY}.crt"):
        pki.verify_issued(authority, cert)


def test_shell_wrapper_runs_the_cli(tmp_path: Path) -> None:
    wrapper = CHECKOUT / "ops" / "ca" / "edgehr-ca"
    done = subprocess.run(
        [str(wrapper), "init", str(tmp_path / "ca")],
        env={"EDGEHR_PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ca" / pki.CA_CERT).exists()
