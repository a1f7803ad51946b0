"""HR store fixtures: a SQLite file, and a throwaway PostgreSQL cluster started from Debian's binaries.

initdb refuses to run as root, so when the tests run as root the cluster is created and started as the
``postgres`` system user (``runuser``) in a temporary folder that user owns. It listens on 127.0.0.1 on
a free port and is stopped (and its folder removed) when the session ends.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.serve import BackgroundServer
from sync.server.api import create_app
from sync.server.config import BrokerSection, ServerConfig
from sync.server.store import HRStore, open_hr_store

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 17:00 in Asia/Shanghai


@contextmanager
def running_api(store: HRStore) -> Iterator[str]:
    """The HR API over ``store`` served by uvicorn on a free loopback port (as ``server run`` serves it)."""
    app = create_app(ServerConfig(broker=BrokerSection(tls=False)), store)
    server = BackgroundServer(app, "127.0.0.1", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL prefix (without database name) of a private PostgreSQL cluster."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}: run ops/setup.sh (installs 'postgresql')")
    base = Path(tempfile.mkdtemp(prefix="edgehr-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8"]),
        check=True, capture_output=True, timeout=120,
    )
    options = f"-k {base} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w",
                      "-t", "60", "start"]),
        check=True, capture_output=True, timeout=90,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database in the session's cluster."""
    import psycopg

    name = f"hr_test_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hr.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[HRStore]:
    s = open_hr_store(store_url, "Asia/Shanghai", clock=lambda: NOW)
    yield s
    s.close()


@pytest.fixture
def client(store: HRStore) -> Iterator[TestClient]:
    """The HR API over ``store`` (no broker TLS: these tests publish nothing)."""
    with TestClient(create_app(ServerConfig(broker=BrokerSection(tls=False)), store)) as c:
        yield c
