"""Property-based requests over an app's own OpenAPI schema (schemathesis), served by uvicorn: the 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings

from core.serve import BackgroundServer
from tests.server.conftest import free_port

#: Generated requests per operation: enough to reach the edges of every parameter, a minute or two in all.
EXAMPLES = 20


def never_5xx(
    app: FastAPI, headers: dict[str, str] | Callable[[str], dict[str, str]], *, examples: int = EXAMPLES
) -> list[str]:
    """Serve ``app`` on uvicorn and send it ``examples`` generated requests per operation of its OpenAPI
    schema, with ``headers`` (or those ``headers(base_url)`` returns, e.g. after a login); the 5xx answers,
    each described with a curl command that repeats it."""
    port = free_port()
    server = BackgroundServer(app, "127.0.0.1", port)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        sent = headers(url) if callable(headers) else headers
        return _each_operation(schemathesis.openapi.from_url(f"{url}/openapi.json"), sent, examples)
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
