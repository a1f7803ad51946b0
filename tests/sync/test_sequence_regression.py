"""A terminal whose record counter went backwards keeps every punch (issue 15, PROTOCOL.md section 10).

The device's database is restored from an old copy, so its new punches reuse record sequences the server
stored with other content. The server must neither acknowledge them as duplicates (the device would
delete them) nor store them over the first ones: it refuses them (counted ``replay``, kept as dead
letters), flags the device for HR and sends a ``resequence`` command; the courier renumbers its
undelivered rows above what is stored, and they arrive. Real mosquitto, HR store, courier and worker.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from device.store import open_store
from device.store.punches import record_punch
from drills.chaos_site import Site, running_courier, running_worker, server_seqs, wait_for
from fleet.broker import Mosquitto
from sync.server.store import HRStore, dead_letters, devices
from tests.factories import punch
from tests.sync.test_ingest import DEVICE, rejections

START_MS = 1_790_000_000_000


def _punch(database: Path, minute: int) -> None:
    store = open_store(database)
    record_punch(store, punch("E0001", "in" if minute % 2 == 0 else "out", START_MS + minute * 60_000), DEVICE)
    store.close()


def _device_uids(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        return {str(r[0]) for r in conn.execute("SELECT uid FROM punches")}


def _device_outbox(database: Path) -> list[tuple[int, bool]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT seq, delivered_at_ms IS NOT NULL FROM outbox ORDER BY seq").fetchall()
    return [(int(seq), bool(delivered)) for seq, delivered in rows]


def _server_uids(hr: HRStore) -> list[str]:
    with hr.db.read() as tx:
        return sorted(str(r[0]) for r in tx.execute("SELECT uid FROM punches WHERE device_id = ?", (DEVICE,)).all())


def _copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (the device database is in WAL mode)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    target.chmod(0o600)  # as the terminal keeps it: it holds personal data (core.durable refuses 0644)


def _deliver(site: Site, hr: HRStore, uids: set[str]) -> None:
    database = site.devices[DEVICE].database
    with running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0, ack_timeout_max_seconds=2.0):
        wait_for(lambda: set(_server_uids(hr)) == uids, f"{len(uids)} punches on the server", timeout=60)
        wait_for(lambda: all(delivered for _, delivered in _device_outbox(database)), "the outbox delivered")


def test_a_terminal_restored_from_an_old_copy_keeps_every_new_punch(
    site: Site, site_broker: Mosquitto, hr: HRStore, tmp_path: Path
) -> None:
    database = site.devices[DEVICE].database
    for minute in range(2):
        _punch(database, minute)  # seqs 1, 2
    _deliver(site, hr, _device_uids(database))
    old_copy = tmp_path / "device-old.db"
    _copy(database, old_copy)
    for minute in range(2, 5):
        _punch(database, minute)  # seqs 3, 4, 5
    before_restore = _device_uids(database)
    _deliver(site, hr, before_restore)

    _copy(old_copy, database)  # the SD card restored: the counter is back at 2
    for minute in range(10, 14):
        _punch(database, minute)  # other punches under seqs 3, 4, 5 (reused) and 6 (new)
    assert [seq for seq, _ in _device_outbox(database)] == [1, 2, 3, 4, 5, 6]
    after_restore = _device_uids(database)
    everything = before_restore | after_restore
    _deliver(site, hr, everything)

    assert _server_uids(hr) == sorted(everything)  # every punch, each once: nothing lost, nothing twice
    assert len(server_seqs(site, DEVICE)) == len(everything) == 9
    outbox = _device_outbox(database)
    assert all(delivered for _, delivered in outbox) and [s for s, _ in outbox][:2] == [1, 2]
    assert min(s for s, _ in outbox[2:]) > 5  # the reused numbers moved above what the server held
    flagged = devices.get(hr, DEVICE)
    assert flagged["sequence_flag"] in {"counter-regressed", "sequence-reused"} and flagged["sequence_flag_at"]
    assert rejections(hr).get("replay", 0) >= 1
    assert all(letter["reason"] == "replay" for letter in dead_letters.recent(hr))

    _punch(database, 20)  # and the terminal goes on as usual
    _deliver(site, hr, everything | _device_uids(database))
    assert len(_server_uids(hr)) == 10
