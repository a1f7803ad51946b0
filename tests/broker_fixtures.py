"""Fixtures for tests that need a real mosquitto: ``ca``, ``broker`` (mutual TLS + ACL), ``plain_broker``.

A test module gets them with ``pytest_plugins = ("tests.broker_fixtures",)`` and imports the helpers it
uses from tests/mqtt_helpers.py (``MqttTestClient``, ``SiteCa``). Every broker is stopped after its test,
so the suite's leak check passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.broker import Mosquitto
from tests.mqtt_helpers import SiteCa, make_site_ca


@pytest.fixture
def ca(tmp_path: Path) -> SiteCa:
    return make_site_ca(tmp_path / "pki")


@pytest.fixture
def broker(ca: SiteCa, tmp_path: Path) -> Iterator[Mosquitto]:
    """mosquitto with mutual TLS and the edgehr ACL on a free loopback port."""
    with Mosquitto(tmp_path / "broker", tls=ca.broker_tls) as running:
        yield running


@pytest.fixture
def plain_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """mosquitto on a plain loopback listener with every topic open (tests that do not test TLS or ACL)."""
    with Mosquitto(tmp_path / "plain-broker", tls=None, acl=False) as running:
        yield running
