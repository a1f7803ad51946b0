"""Property-based requests over the HR API's own OpenAPI schema (schemathesis): whatever a caller sends,
with a valid admin token, against a real SQLite store holding a little of everything, the API never
answers 5xx. Examples per operation are bounded so the whole run takes a minute or two."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.config import ServerConfig
from sync.server.enrolment import EmbedderParts
from sync.server.store import HRStore, attendance, employees, open_hr_store, records, webhook_rows
from tests.fuzzing import never_5xx
from tests.server.builders import punch_record, register
from tests.server.conftest import NOW


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeded_store(fuzz_dir: Path) -> Iterator[HRStore]:
    store = open_hr_store(f"sqlite:///{fuzz_dir / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOW)
    register(store, "gate-1")
    employees.create(store, "E001", "李雷", "seed")
    employees.create(store, "E002", "Han Meimei", "seed")
    records.ingest(store, "gate-1", [punch_record(1), punch_record(2, employee_no="E002", direction="out")])
    attendance.create_shift(store, name="Day", start="09:00", end="18:00", days=[1, 2, 3, 4, 5],
                            grace_in_minutes=5, grace_out_minutes=5, overtime_after_minutes=30, actor="seed")
    webhook_rows.subscribe(store, webhook_rows.Subscription("https://hr.example/hook", "s" * 16, ("punch",)),
                           "seed")
    yield store
    store.close()


@pytest.fixture(scope="module")
def admin_token(seeded_store: HRStore) -> str:
    return create_token(seeded_store, "admin", "fuzz")


@pytest.fixture(scope="module")
def hr_app(seeded_store: HRStore, fuzz_dir: Path) -> FastAPI:
    # An embedder that finds no face: photo uploads run the whole route without loading the models.
    class NoFace:
        def embed_image(self, image: Any) -> tuple[None, str]:
            return None, "no-face"

    config = ServerConfig.model_validate({"server": {"state_dir": str(fuzz_dir / "state")},
                                         "broker": {"tls": False}})
    return create_app(config, seeded_store, embedder_parts=lambda: EmbedderParts(NoFace(), "fuzz", None))


@pytest.mark.slow
def test_the_hr_api_never_answers_5xx(hr_app: FastAPI, admin_token: str) -> None:
    failures = never_5xx(hr_app, {"Authorization": f"Bearer {admin_token}"})
    assert not failures, "\n\n".join(failures)
