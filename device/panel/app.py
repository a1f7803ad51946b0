"""The device's FastAPI app. Everything it needs is passed in; nothing is looked up globally.

The health report and the default language travel in ``app.state`` (routes/health.py reads them); the
kiosk and admin routers are passed in by the caller (device/runner.py builds them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from core.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimit, RouteLimit
from core.i18n import Language, both
from core.uploads import DEFAULT_LIMITS
from device.health import Health
from device.panel.language import pick_language as pick_language  # re-exported: its home before routes/
from device.panel.routes import health as health_routes

#: The photo upload route; its own parser (core.uploads) applies the finer limits and the friendly page.
PHOTO_ROUTE = r"/admin/enrol/[^/]+/photos"


def create_app(
    *,
    health: Callable[[], Health],
    default_language: Language = "zh-CN",
    extra_routers: list[Any] | None = None,
    max_upload_bytes: int = DEFAULT_LIMITS.max_request_bytes,
) -> FastAPI:
    """``max_upload_bytes``: the most a photo upload request may carry (the enrolment pages' limit); every
    other request body (forms, kiosk claims) is bounded to 1 MiB. More is answered 413 unread."""
    app = FastAPI(title="edgehr device panel", version="1")
    app.add_middleware(
        BodyLimit,
        default=DEFAULT_MAX_BODY_BYTES,
        routes=[RouteLimit("POST", PHOTO_ROUTE, max_upload_bytes)],
        refuse=_too_large,
    )
    app.state.health = health
    app.state.default_language = default_language
    app.include_router(health_routes.router)
    for router in extra_routers or []:
        app.include_router(router)
    return app



def _too_large(limit: int) -> tuple[str, bytes]:
    """The 413 answer of the BodyLimit middleware: plain text in both languages (no page to render it in)."""
    mib = max(1, limit // (1024 * 1024))
    text = "\n".join(both("request.too-large", mb=mib).values())
    return "text/plain; charset=utf-8", text.encode("utf-8")
