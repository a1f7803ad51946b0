"""The device's FastAPI app. Everything it needs is passed in; nothing is looked up globally.

The health report and the default language travel in ``app.state`` (routes/health.py reads them); the
kiosk and admin routers are passed in by the caller (device/runner.py builds them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from core.i18n import Language
from device.health import Health
from device.panel.language import pick_language as pick_language  # re-exported: its home before routes/
from device.panel.routes import health as health_routes


def create_app(
    *, health: Callable[[], Health], default_language: Language = "zh-CN", extra_routers: list[Any] | None = None
) -> FastAPI:
    app = FastAPI(title="edgehr device panel", version="1")
    app.state.health = health
    app.state.default_language = default_language
    app.include_router(health_routes.router)
    for router in extra_routers or []:
        app.include_router(router)
    return app

