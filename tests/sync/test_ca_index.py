"""The CA's index under concurrent writers: `edgehr-ca` commands and the HR server may sign and revoke at
the same moment; each read-modify-write of index.json is locked, so no row is lost."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cryptography import x509

from fleet import pki, revocation

WRITERS = 4
ROWS_EACH = 40


def _record(folder: str, cert_pem: bytes, count: int) -> None:
    cert = x509.load_pem_x509_certificate(cert_pem)
    for _ in range(count):
        revocation.record_issued(Path(folder), cert, "client")


def test_concurrent_writers_lose_no_row_of_the_index(tmp_path: Path) -> None:
    ca = pki.create_ca(tmp_path / "ca")
    files = pki.issue_client_cert(ca, "writer", tmp_path / "client")
    before = len(revocation.read_index(ca.folder))
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_record, args=(str(ca.folder), files.cert.read_bytes(), ROWS_EACH))
               for _ in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * WRITERS
    assert len(revocation.read_index(ca.folder)) == before + WRITERS * ROWS_EACH


def test_a_revocation_during_signing_keeps_both(tmp_path: Path) -> None:
    ca = pki.create_ca(tmp_path / "ca")
    victim = pki.issue_client_cert(ca, "victim", tmp_path / "victim")
    other = pki.issue_client_cert(ca, "other", tmp_path / "other")
    context = multiprocessing.get_context("fork")
    signer = context.Process(target=_record, args=(str(ca.folder), other.cert.read_bytes(), ROWS_EACH))
    signer.start()
    revoked = revocation.revoke(ca, cert_path=victim.cert)
    signer.join(timeout=120)
    assert signer.exitcode == 0 and len(revoked) == 1
    rows = revocation.read_index(ca.folder)
    assert sum(r.common_name == "other" for r in rows) == 1 + ROWS_EACH
    assert [r.revoked_at is not None for r in rows if r.common_name == "victim"] == [True]
    assert int(revoked[0].serial, 16) in revocation.revoked_serials(ca.folder / "crl.pem")
