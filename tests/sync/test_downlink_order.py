"""Downlink commands apply strictly in command_seq order on a real device store (held ones survive a
restart, duplicates are confirmed again but not applied again), and a gallery command for 250 employees
travels as pages from a real HR store through a real mosquitto, ingest worker and courier."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.clock import FakeClock
from core.datakey import load_or_create
from device.config.device import DeviceConfig
from device.courier import commands, downlink
from device.courier.courier import data_key_path
from device.store import Store, open_store
from device.store import downlinks as device_downlinks
from device.store import employees as device_employees
from drills.chaos_site import Site, running_courier, running_worker, wait_for
from fleet.broker import Mosquitto
from sync.protocol import CandidatesBody, EraseBody, GalleryBody, GalleryEntry, Identity, PeerKeys
from sync.server.ingest_downlinks import MAX_UPSERTS_PER_PAGE, command_bodies, store_gallery
from sync.server.store import HRStore, devices, downlinks, templates
from sync.server.store import employees as hr_employees

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = "m1"
DEVICE = "site1-gate-a"


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(128).astype("<f4")
    return v / np.linalg.norm(v)


def entry(no: str, seed: int) -> GalleryEntry:
    return GalleryEntry(employee_no=no, name=f"name {no}", model=MODEL, templates=[vector(seed).tobytes()])


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def context(state: Path, store: Store) -> commands.DownlinkContext:
    config = DeviceConfig.model_validate(
        {"device": {"id": "gate-1", "state_dir": str(state)}, "camera": {"source": "fake"}}
    )
    server = PeerKeys("server", Identity.generate().public)
    return commands.DownlinkContext(
        store=store,
        clock=FakeClock(NOW),
        config=config,
        config_path=None,
        data_key=load_or_create(state / "keys" / "data.key"),
        server_keys=server,
        save_server_keys=lambda peer: None,
    )


def gallery(seq: int, *entries: GalleryEntry, page: int = 1, pages: int = 1) -> GalleryBody:
    return GalleryBody(command_seq=seq, gallery_version=seq, page=page, pages=pages, upserts=list(entries))


def applied(store: Store) -> list[int]:
    """Command sequences in the order they were applied (the audit log's order)."""
    rows = store.conn.execute("SELECT subject FROM audit_log WHERE action LIKE 'downlink.%' ORDER BY id")
    return [int(r[0]) for r in rows]


def template_owners(store: Store, state: Path) -> list[str]:
    key = load_or_create(state / "keys" / "data.key")
    return sorted({t.employee_no for t in device_employees.load_templates(store, key, MODEL)})


def test_commands_delivered_3_1_2_apply_1_2_3_and_an_early_erase_is_not_undone(state: Path) -> None:
    state.mkdir(parents=True)
    store = open_store(state / "device.db")
    ctx = context(state, store)
    # 1: gallery with E1 and E2; 2: erase E1; 3: candidates. Delivered 3, 2, then (after a restart) 1.
    third = CandidatesBody(command_seq=3, candidates=[])
    second = EraseBody(command_seq=2, erasure_id="x-1", employee_nos=["E1"], reason="left the company")
    first = gallery(1, entry("E1", 1), entry("E2", 2))

    assert [(o.command_seq, o.outcome) for o in downlink.receive(ctx, third)] == [(3, "held")]
    assert [(o.command_seq, o.outcome) for o in downlink.receive(ctx, second)] == [(2, "held")]
    assert applied(store) == [] and device_downlinks.command_floor(store) == 0
    # Held bodies are sealed with the data key, never kept in clear.
    held = store.conn.execute("SELECT nonce, body FROM downlink_held").fetchall()
    assert len(held) == 2 and all(r[0] is not None and b"left the company" not in bytes(r[1]) for r in held)
    store.close()

    store = open_store(state / "device.db")  # a restart keeps what was held
    ctx = context(state, store)
    outcomes = downlink.receive(ctx, first)
    assert [(o.command_seq, o.outcome) for o in outcomes] == [(1, "applied"), (2, "applied"), (3, "applied")]
    assert applied(store) == [1, 2, 3] and device_downlinks.command_floor(store) == 3
    assert template_owners(store, state) == ["E2"]  # the erase (2) came after the gallery (1)
    assert store.conn.execute("SELECT count(*) FROM downlink_held").fetchone()[0] == 0

    # A duplicate is confirmed again, never applied again: E1 stays erased.
    device_downlinks.mark_confirmed(store, [1, 2, 3], 1)
    again = downlink.receive(ctx, first)
    assert [(o.command_seq, o.repeated) for o in again] == [(1, True)]
    assert device_downlinks.unconfirmed(store) == [1] and template_owners(store, state) == ["E2"]
    store.close()


def test_gallery_pages_apply_together_once_all_arrived(state: Path) -> None:
    state.mkdir(parents=True)
    store = open_store(state / "device.db")
    ctx = context(state, store)
    pages = [
        gallery(1, *(entry(f"E{p}{i:02d}", p * 100 + i) for i in range(3)), page=p, pages=3) for p in (1, 2, 3)
    ]
    assert [o.outcome for o in downlink.receive(ctx, pages[2])] == ["held"]
    assert [o.outcome for o in downlink.receive(ctx, pages[0])] == ["held"]
    assert template_owners(store, state) == []  # nothing applied while a page is missing
    assert [o.outcome for o in downlink.receive(ctx, pages[0])] == ["held"]  # a page resent: still one copy
    [done] = downlink.receive(ctx, pages[1])
    assert done.outcome == "applied" and done.detail["pages"] == 3 and done.detail["upserts"] == 9
    assert len(template_owners(store, state)) == 9
    assert [o.repeated for o in downlink.receive(ctx, pages[2])] == [True]  # a late page: confirmed again
    store.close()


def test_a_gallery_of_250_employees_travels_as_pages_and_lands_whole(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    key = templates.load_data_key(site.server_state)
    numbers = [f"E{i:04d}" for i in range(250)]
    for i, no in enumerate(numbers):
        hr_employees.create(hr, no, f"员工 {i}", "hr")
    with hr.db.transaction() as tx:
        for i, no in enumerate(numbers):
            templates.replace(tx, key, no, MODEL, [vector(i)], hr.now_iso())
    devices.assign(hr, DEVICE, numbers, "it")
    [row] = downlinks.pending(hr, DEVICE)
    bodies = command_bodies(row, store_gallery(hr, key))
    assert [(b.page, b.pages, len(b.upserts)) for b in bodies if isinstance(b, GalleryBody)] == [
        (1, 3, MAX_UPSERTS_PER_PAGE), (2, 3, MAX_UPSERTS_PER_PAGE), (3, 3, 50)
    ]
    assert [e.employee_no for b in bodies if isinstance(b, GalleryBody) for e in b.upserts] == numbers

    device = site.devices[DEVICE]
    with running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=1.0) as courier:
        wait_for(lambda: downlinks.pending(hr, DEVICE) == [], "the gallery command confirmed", timeout=60)
        assert courier.stats.downlinks["gallery:applied"] == 1
    store = open_store(device.database)
    device_key = load_or_create(data_key_path(device.state_dir))
    found = {t.employee_no: t.vector for t in device_employees.load_templates(store, device_key, MODEL)}
    assert sorted(found) == numbers
    assert all(float(found[no] @ vector(i)) > 0.999 for i, no in enumerate(numbers))
    [(outcome, detail)] = store.conn.execute("SELECT outcome, detail FROM downlink_commands").fetchall()
    assert outcome == "applied" and '"pages": 3' in detail and '"upserts": 250' in detail
    store.close()
