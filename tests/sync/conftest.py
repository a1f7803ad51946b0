"""Fixtures for the tests that run a whole provisioned site (``build_site``): ``site``, ``site_broker``, ``hr``.

pytest finds them here without imports. The site's broker is called ``site_broker`` because ``broker`` is
the bare-CA broker of tests/broker_fixtures.py (``ca``, ``broker``, ``plain_broker``), which some modules
here load with ``pytest_plugins``: one name with two meanings would let one silently shadow the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.chaos_site import Site, build_site
from fleet.broker import Mosquitto
from sync.server.store import HRStore, open_hr_store


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A provisioned site in tmp_path: CA, broker config, server keys and state, device keys and databases."""
    return build_site(tmp_path / "site")


@pytest.fixture
def site_broker(site: Site) -> Iterator[Mosquitto]:
    """The site's mosquitto (mutual TLS + the edgehr ACL) on a free loopback port, stopped after the test."""
    with site.broker() as running:
        yield running


@pytest.fixture
def hr(site: Site) -> Iterator[HRStore]:
    """The site's HR server store, opened as the server opens it."""
    store = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    yield store
    store.close()
