"""The device half of an ``update`` command (device.courier.updates): the release is fetched (a folder or a
loopback HTTP server), its manifest's SHA-256 and signature and every file's SHA-256 are checked before it
is handed on, and whatever happens is queued as an ``update-status`` record in the real outbox."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import FakeClock
from device.courier.updates import PENDING, STATUS, Updates
from device.store import Store, open_store, outbox
from fleet import release_signing
from sync.protocol import UpdateBody
from tests.firmware.test_update_drill import GOOD_MAIN, make_release

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Handed:
    def __init__(self) -> None:
        self.calls: list[tuple[Path, str]] = []

    def __call__(self, staged: Path, version: str) -> None:
        self.calls.append((staged, version))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "device.db")
    yield s
    s.close()


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return release_signing.keygen(tmp_path / "operator")


def command(release: Path, source: str | None = None, digest: str | None = None) -> UpdateBody:
    return UpdateBody(command_seq=7, rollout_id="rollout-1", release_version=(release / "VERSION").read_text().strip(),
                      manifest_sha256=digest or release_signing.manifest_digest(release),
                      source=source or release.as_uri())


def run_until_done(updates: Updates, store: Store) -> list[dict[str, object]]:
    """Step the inbox as the courier does (bounded) until the request is reported or handed on."""
    for _ in range(200):
        updates._next_look = 0.0  # the courier's once-a-second pace, without the wait
        updates.step()
        updates.join(30)
        if updates.pending() is None or (updates.pending() and updates.pending().handed):  # type: ignore[union-attr]
            break
        time.sleep(0.02)
    return [row.body for row in outbox.pending(store, 100)]


def test_a_signed_release_is_staged_checked_and_handed_on_then_its_status_reported(
    tmp_path: Path, store: Store, keys: tuple[Path, Path]
) -> None:
    release = make_release(tmp_path / "r1", "1.2.0", GOOD_MAIN, keys[0])
    handed = Handed()
    updates = Updates(tmp_path / "updates", keys[1], handed, store, FakeClock(NOW))
    updates.accept(command(release))
    assert run_until_done(updates, store) == []  # handed on, no result yet
    staged = tmp_path / "updates" / "1.2.0"
    assert handed.calls == [(staged, "1.2.0")]
    assert (staged / "app" / "cli" / "main.py").read_text() == GOOD_MAIN
    release_signing.verify_release(keys[1], staged)
    # edgehr-update's status file (as root writes it) is what gets reported.
    (tmp_path / "updates" / STATUS).write_text(json.dumps(
        {"result": "rolled-back", "version": "1.2.0", "running": "1.1.0", "detail": "1.2.0 failed its health check"}))
    updates._next_look = 0.0
    updates.step()
    (body,) = [row.body for row in outbox.pending(store, 100)]
    assert body == {"rollout_id": "rollout-1", "command_seq": 7, "release_version": "1.2.0", "result": "rolled-back",
                    "running_version": "1.1.0", "detail": "1.2.0 failed its health check"}
    assert not (tmp_path / "updates" / PENDING).exists()


def test_a_wrong_signature_or_digest_is_refused_and_reported_without_handing_on(
    tmp_path: Path, store: Store, keys: tuple[Path, Path]
) -> None:
    stranger, _ = release_signing.keygen(tmp_path / "stranger")
    forged = make_release(tmp_path / "r1", "1.3.0", GOOD_MAIN, stranger)
    handed = Handed()
    updates = Updates(tmp_path / "updates", keys[1], handed, store, FakeClock(NOW))
    updates.accept(command(forged))
    (refused,) = run_until_done(updates, store)
    assert refused["result"] == "refused" and "not signed by this device's release key" in str(refused["detail"])
    good = make_release(tmp_path / "r2", "1.3.1", GOOD_MAIN, keys[0])
    updates.accept(command(good, digest="00" * 32))
    second = run_until_done(updates, store)[-1]
    assert second["result"] == "refused" and "sha256 differs" in str(second["detail"])
    assert handed.calls == []
    assert not (tmp_path / "updates" / "1.3.0").exists() and not (tmp_path / "updates" / "1.3.1").exists()


def test_a_release_is_fetched_over_http_file_by_file(tmp_path: Path, store: Store, keys: tuple[Path, Path]) -> None:
    release = make_release(tmp_path / "r1", "1.4.0", GOOD_MAIN, keys[0])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        handed = Handed()
        updates = Updates(tmp_path / "updates", keys[1], handed, store, FakeClock(NOW))
        updates.accept(command(release, source=f"http://127.0.0.1:{server.server_address[1]}/r1/"))
        run_until_done(updates, store)
        assert handed.calls == [(tmp_path / "updates" / "1.4.0", "1.4.0")]
        model = tmp_path / "updates" / "1.4.0" / "app" / "models" / "build" / "face.onnx"
        assert model.read_bytes() == (release / "app" / "models" / "build" / "face.onnx").read_bytes()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
