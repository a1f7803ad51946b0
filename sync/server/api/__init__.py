"""The HR API (JSON, bearer tokens with roles) and, through ``sync.server.pages``, the HR web pages.

Everything is passed in: ``create_app(config, store)``; nothing is looked up globally. One module per
resource holds a module-level router; what the routes need (store, config, photo enroller) travels in
``app.state`` and reaches them as FastAPI dependencies (``deps.py``). Errors are JSON
``{"error": code, "message": what, "fix": what to do}`` with a status that matches the code (``errors.py``).
"""

import json
from collections.abc import Callable

from fastapi import FastAPI

from core.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimit, RouteLimit
from sync.server.api import (
    attendance_rules,
    bias_audit,
    candidate_rights,
    candidates,
    corrections,
    dead_letters,
    device_flags,
    devices,
    employees,
    errors,
    health,
    interviews,
    metrics,
    punches,
    retention,
    review,
    rollouts,
    self_service,
    shifts,
    timesheets,
    tokens,
    users,
    webhooks,
)
from sync.server.api.errors import error_response
from sync.server.config import ServerConfig
from sync.server.enrolment import EmbedderParts, Lazy, ServerEnroller, real_embedder_parts
from sync.server.pages import pages_router, static_files
from sync.server.store import HRStore, templates

__all__ = ["create_app", "error_response"]

#: An assignment lists up to 100 000 employee numbers (models.AssignIn): more than the 1 MiB default.
ASSIGN_MAX_BYTES = 8 * 1024 * 1024

#: In this order (the order of /openapi.json and of route matching).
_ROUTERS = (health, punches, timesheets, corrections, shifts, employees, devices, device_flags, dead_letters,
            webhooks, tokens, candidates, interviews, review, bias_audit, candidate_rights, retention,
            attendance_rules, metrics, users, self_service, rollouts)


def create_app(
    config: ServerConfig,
    store: HRStore,
    *,
    embedder_parts: Callable[[], EmbedderParts] = real_embedder_parts,
) -> FastAPI:
    """``embedder_parts`` builds the face pipeline for photo enrolment: the real one unless a test or
    tool passes another; it is built on the first upload, once per app (the models load slowly)."""
    app = FastAPI(title=f"edgehr HR API · {config.server.name}", version="1")
    parts, key = Lazy(embedder_parts), Lazy(lambda: templates.load_data_key(config.server.state_dir, store))
    app.state.config = config
    app.state.store = store
    app.state.enroller = ServerEnroller(store, parts=parts.get, key=key.get)
    errors.install(app)
    # Bodies are bounded before any route reads them: 1 MiB for JSON and forms, more for photo uploads.
    app.add_middleware(
        BodyLimit,
        default=DEFAULT_MAX_BODY_BYTES,
        routes=[RouteLimit("POST", r"/api/employees/[^/]+/photos", employees.MAX_UPLOAD_BYTES),
                RouteLimit("POST", r"/api/candidates/[^/]+/photo", employees.MAX_UPLOAD_BYTES),
                RouteLimit("PUT", r"/api/devices/[^/]+/employees", ASSIGN_MAX_BYTES)],
        refuse=_too_large,
    )
    for module in _ROUTERS:
        app.include_router(module.router)
    app.include_router(pages_router())
    app.mount("/static", static_files(), name="static")
    return app


def _too_large(limit: int) -> tuple[str, bytes]:
    """The 413 answer of the BodyLimit middleware, in the API's JSON error shape."""
    what = f"The request body is larger than {limit // (1024 * 1024)} MiB, the most this address accepts."
    fix = "Send less at a time: fewer or smaller photos per upload, or a smaller JSON body."
    return "application/json", json.dumps({"error": "body-too-large", "message": what, "fix": fix}).encode()
