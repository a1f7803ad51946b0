"""The HR API (JSON, bearer tokens with roles) and, through ``sync.server.pages``, the HR web pages.

Everything is passed in: ``create_app(config, store)``; nothing is looked up globally. One module per
resource holds a module-level router; what the routes need (store, config, photo enroller) travels in
``app.state`` and reaches them as FastAPI dependencies (``deps.py``). Errors are JSON
``{"error": code, "message": what, "fix": what to do}`` with a status that matches the code (``errors.py``).
"""

from collections.abc import Callable

from fastapi import FastAPI

from sync.server.api import (
    attendance_rules,
    candidates,
    corrections,
    devices,
    employees,
    errors,
    health,
    interviews,
    punches,
    shifts,
    timesheets,
    tokens,
    webhooks,
)
from sync.server.api.errors import error_response
from sync.server.config import ServerConfig
from sync.server.enrolment import EmbedderParts, Lazy, ServerEnroller, real_embedder_parts
from sync.server.pages import pages_router, static_files
from sync.server.store import HRStore, templates

__all__ = ["create_app", "error_response"]

#: In this order (the order of /openapi.json and of route matching).
_ROUTERS = (health, punches, timesheets, corrections, shifts, employees, devices, webhooks, tokens, candidates,
            interviews, attendance_rules)


def create_app(
    config: ServerConfig,
    store: HRStore,
    *,
    embedder_parts: Callable[[], EmbedderParts] = real_embedder_parts,
) -> FastAPI:
    """``embedder_parts`` builds the face pipeline for photo enrolment: the real one unless a test or
    tool passes another; it is built on the first upload, once per app (the models load slowly)."""
    app = FastAPI(title=f"edgehr HR API · {config.server.name}", version="1")
    parts, key = Lazy(embedder_parts), Lazy(lambda: templates.load_data_key(config.server.state_dir))
    app.state.config = config
    app.state.store = store
    app.state.enroller = ServerEnroller(store, parts=parts.get, key=key.get)
    errors.install(app)
    for module in _ROUTERS:
        app.include_router(module.router)
    app.include_router(pages_router())
    app.mount("/static", static_files(), name="static")
    return app
