"""The device store's repositories for the server's commands (device.store.downlinks), its small settings
and the savepoint that lets a refused command leave nothing behind: on a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.errors import InputError
from device.store import Store, downlinks, open_store, settings
from device.store.database import savepoint
from device.store.downlinks import HeldPage


@pytest.fixture
def store() -> Iterator[Store]:
    opened = open_store(None)
    yield opened
    opened.close()


def page(seq: int, number: int, pages: int, *, nonce: bytes | None = None) -> HeldPage:
    return HeldPage(seq, number, pages, "gallery", "k1" if nonce else None, nonce, f"{seq}:{number}".encode())


def test_an_applied_command_is_recorded_unconfirmed_until_confirmed_and_again_on_a_resend(store: Store) -> None:
    assert downlinks.applied(store, 1) is None
    with store.transaction() as conn:
        downlinks.record_applied(conn, 1, "erase", "applied", {"templates": 2, "name": "Zoë"}, 1000)
    found = downlinks.applied(store, 1)
    assert found is not None and (found.type, found.outcome, found.detail) == ("erase", "applied",
                                                                               {"templates": 2, "name": "Zoë"})
    assert downlinks.unconfirmed(store) == [1]
    downlinks.mark_confirmed(store, [1], 2000)
    assert downlinks.unconfirmed(store) == []
    with store.transaction() as conn:
        downlinks.confirm_again(conn, 1)
    assert downlinks.unconfirmed(store) == [1]


def test_the_floor_is_the_end_of_the_gap_free_run(store: Store) -> None:
    assert downlinks.command_floor(store) == 0
    with store.transaction() as conn:
        for seq in (1, 2, 4):  # a store from before in-order application may have gaps
            downlinks.record_applied(conn, seq, "config", "applied", {}, 1)
    assert downlinks.command_floor(store) == 2


def test_held_pages_come_back_in_order_a_new_paging_replaces_the_old_and_applying_forgets_them(
    store: Store,
) -> None:
    with store.transaction() as conn:
        downlinks.hold(conn, page(5, 2, 2, nonce=b"n" * 12), received_at_ms=1)
        downlinks.hold(conn, page(5, 1, 2), received_at_ms=1)
        downlinks.hold(conn, page(5, 1, 2, nonce=b"x" * 12), received_at_ms=2)  # held already: kept as it was
        downlinks.hold(conn, page(6, 1, 1), received_at_ms=1)
        assert downlinks.held_count(conn) == 3
    assert downlinks.held_pages(store, 5) == [page(5, 1, 2), page(5, 2, 2, nonce=b"n" * 12)]
    with store.transaction() as conn:
        downlinks.hold(conn, page(5, 1, 3), received_at_ms=3)  # paged again in three: the two pages go
    assert downlinks.held_pages(store, 5) == [page(5, 1, 3)]
    with store.transaction() as conn:
        downlinks.record_applied(conn, 5, "gallery", "applied", {}, 4)  # forgets held pages up to 5
    assert downlinks.held_pages(store, 5) == [] and downlinks.held_pages(store, 6) == [page(6, 1, 1)]
    with store.transaction() as conn:
        downlinks.drop_held(conn, 6)
        assert downlinks.held_count(conn) == 0


def test_settings_keep_one_value_per_key(store: Store) -> None:
    assert settings.get(store, "a") is None
    with store.transaction() as conn:
        settings.put(conn, "a", "1")
        settings.put(conn, "a", "2")
    assert settings.get(store, "a") == "2"


def test_a_savepoint_undoes_only_its_block_and_lets_the_rest_commit(store: Store) -> None:
    with store.transaction() as conn:
        settings.put(conn, "before", "kept")
        with pytest.raises(InputError), savepoint(conn, "block"):
            settings.put(conn, "inside", "undone")
            raise InputError("refused", "nothing")
        settings.put(conn, "after", "kept")
    assert [settings.get(store, k) for k in ("before", "inside", "after")] == ["kept", None, "kept"]
