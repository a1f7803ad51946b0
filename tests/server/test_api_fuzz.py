"""Property-based requests over the HR API's own OpenAPI schema (schemathesis): whatever a caller sends,
with a valid admin token, against a real SQLite store holding a little of everything, the API never
answers 5xx. Examples per operation are bounded so the whole run takes a minute or two."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings

from core.serve import BackgroundServer
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.config import ServerConfig
from sync.server.enrolment import EmbedderParts
from sync.server.store import HRStore, attendance, employees, open_hr_store, webhook_rows
from tests.server.builders import punch_record, register
from tests.server.conftest import NOW, free_port

EXAMPLES = 20


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeded_store(fuzz_dir: Path) -> Iterator[HRStore]:
    store = open_hr_store(f"sqlite:///{fuzz_dir / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOW)
    register(store, "gate-1")
    employees.create(store, "E001", "李雷", "seed")
    employees.create(store, "E002", "Han Meimei", "seed")
    store.ingest("gate-1", [punch_record(1), punch_record(2, employee_no="E002", direction="out")])
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


def never_5xx(app: FastAPI, headers: dict[str, str], *, examples: int = EXAMPLES) -> list[str]:
    """Serve ``app`` on uvicorn and send it ``examples`` generated requests per operation of its OpenAPI
    schema; the 5xx answers, described with a curl command that repeats them."""
    port = free_port()
    server = BackgroundServer(app, "127.0.0.1", port)
    server.start()
    try:
        return _each_operation(schemathesis.openapi.from_url(f"http://127.0.0.1:{port}/openapi.json"), headers,
                               examples)
    finally:
        server.stop()


def _each_operation(schema: Any, headers: dict[str, str], examples: int) -> list[str]:
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=examples, deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                                f"{response.text[:300]}\n{case.as_curl_command()}")

        try:
            check()
        except AssertionError as exc:
            failures.append(str(exc))
    return failures


@pytest.mark.slow
def test_the_hr_api_never_answers_5xx(hr_app: FastAPI, admin_token: str) -> None:
    failures = never_5xx(hr_app, {"Authorization": f"Bearer {admin_token}"})
    assert not failures, "\n\n".join(failures)
