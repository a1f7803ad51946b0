"""The 1:1 claim desk with a real SQLite store: who may claim, PINs, the timeout and the failure window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.clock import FakeClock
from device.attendance.claims import Claim, ClaimDesk, Expired
from device.attendance.outcomes import Claimed, ClaimRefused
from device.config.device import ClaimSection
from device.store import Store, open_store
from device.store import employees as repo
from device.store.pins import set_pin

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Store, FakeClock]]:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=ZONE))
    store = open_store(tmp_path / "d.db")
    for number, name in (("E1001", "Li Lei"), ("E1002", "Han Meimei"), ("E1003", "Not Enrolled")):
        repo.upsert_employee(store, number, name, clock.now(), "admin")
    yield store, clock
    store.close()


def desk(site: tuple[Store, FakeClock], **settings: object) -> ClaimDesk:
    store, clock = site
    config = ClaimSection.model_validate({"keypad_prefix": "E", "timeout_seconds": 10, **settings})
    return ClaimDesk(config, store=store, enrolled=lambda no: no in {"E1001", "E1002"},
                     monotonic_ns=clock.monotonic_ns)


def test_keypad_digits_get_the_prefix_and_must_name_an_active_enrolled_employee(site: tuple[Store, FakeClock]) -> None:
    d = desk(site)
    assert d.submit("1001", source="keypad") == Claimed("E1001", "keypad", 10)
    claim = d.current()
    assert isinstance(claim, Claim) and claim.employee_no == "E1001"
    assert d.submit("9999", source="keypad") == ClaimRefused("unknown-number", None)
    assert d.submit("10a1", source="keypad") == ClaimRefused("unknown-number", None)  # keypad sends digits only
    assert d.submit("1003", source="keypad") == ClaimRefused("not-enrolled", "E1003")
    # Badges carry the whole number: no prefix.
    assert d.submit("E1002", source="badge") == Claimed("E1002", "badge", 10)
    current = d.current()
    assert isinstance(current, Claim) and current.employee_no == "E1002"  # the newer claim replaced the older
    store, clock = site
    store.conn.execute("UPDATE employees SET active = 0 WHERE employee_no = 'E1001'")
    assert d.submit("1001", source="keypad") == ClaimRefused("unknown-number", None)


def test_a_claim_times_out_once_and_is_then_gone(site: tuple[Store, FakeClock]) -> None:
    _, clock = site
    d = desk(site)
    d.submit("1001", source="keypad")
    clock.advance(9.9)
    assert isinstance(d.current(), Claim)
    assert d.view()["pending"] == {"employee_no": "E1001", "source": "keypad", "seconds_left": 0.1}
    clock.advance(0.2)
    expired = d.current()
    assert isinstance(expired, Expired) and expired.claim.employee_no == "E1001"
    assert d.current() is None and d.view()["pending"] is None


def test_finish_ends_only_the_claim_it_names(site: tuple[Store, FakeClock]) -> None:
    d = desk(site)
    d.submit("1001", source="keypad")
    first = d.current()
    assert isinstance(first, Claim)
    d.submit("1002", source="keypad")
    d.finish(first, failed=False)  # the older claim's result must not end the newer one
    second = d.current()
    assert isinstance(second, Claim) and second.employee_no == "E1002"
    d.finish(second, failed=False)
    assert d.current() is None
    assert d.cancel() is False


def test_pins_are_checked_and_an_unknown_number_answers_like_a_wrong_pin(site: tuple[Store, FakeClock]) -> None:
    store, clock = site
    set_pin(store, "E1001", "2468", at=clock.now(), actor="admin")
    d = desk(site, pin=True)
    assert d.submit("1001", source="keypad") == ClaimRefused("pin-required", None)
    assert d.submit("1001", source="keypad", pin="1357") == ClaimRefused("wrong-pin", None)
    assert d.submit("9999", source="keypad", pin="2468") == ClaimRefused("wrong-pin", None)
    assert d.submit("1002", source="keypad", pin="2468") == ClaimRefused("wrong-pin", None)  # no PIN set
    assert d.submit("1001", source="keypad", pin="2468") == Claimed("E1001", "keypad", 10)
    assert d.submit("E1002", source="badge") == Claimed("E1002", "badge", 10)  # a badge needs no PIN


def test_too_many_failures_lock_the_desk_until_the_oldest_leaves_the_window(site: tuple[Store, FakeClock]) -> None:
    _, clock = site
    d = desk(site, max_failures=3, failure_window_seconds=60)
    d.submit("9999", source="keypad")
    clock.advance(10)
    d.submit("9998", source="keypad")
    d.submit("1001", source="keypad")
    claim = d.current()
    assert isinstance(claim, Claim)
    d.finish(claim, failed=True)  # e.g. the face did not match: the third failure
    assert d.submit("1001", source="keypad") == ClaimRefused("locked", None, 50)
    assert d.view()["locked_seconds"] == 50
    clock.advance(49)
    assert d.submit("1002", source="keypad") == ClaimRefused("locked", None, 1)
    clock.advance(1)  # the first failure (t=0) has left the 60 s window
    assert d.submit("1002", source="keypad") == Claimed("E1002", "keypad", 10)
    assert d.submit("9999", source="keypad") == ClaimRefused("unknown-number", None)
    assert d.submit("1002", source="keypad").kind == "claim-refused"  # locked again: 3 failures in 60 s


def test_prompt_follows_the_configured_claim_sources(site: tuple[Store, FakeClock]) -> None:
    assert desk(site).prompt == "enter-number"
    assert desk(site, badge="fake", badge_device="/dev/null").prompt == "number-or-badge"
    assert desk(site, keypad=False, badge="fake", badge_device="/dev/null").prompt == "show-badge"
