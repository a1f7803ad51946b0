"""The device's FastAPI app. Everything it needs is passed in; nothing is looked up globally."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from core.i18n import LANGUAGES, Language, t
from device.health import Health

_TEMPLATES = Path(__file__).parent / "templates"


def pick_language(request: Request, default: Language) -> Language:
    """?lang= wins, then the browser's Accept-Language, then the device default."""
    wanted = request.query_params.get("lang") or ""
    for language in LANGUAGES:
        if wanted.lower() == language.lower():
            return language
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("zh"):
        return "zh-CN"
    if accept.startswith("en"):
        return "en"
    return default


def create_app(
    *, health: Callable[[], Health], default_language: Language = "zh-CN", extra_routers: list[Any] | None = None
) -> FastAPI:
    app = FastAPI(title="edgehr device panel", version="1")
    templates = Jinja2Templates(directory=str(_TEMPLATES))

    @app.get("/api/health")
    def api_health() -> JSONResponse:
        report = health()
        return JSONResponse(report.as_dict(), status_code=200 if report.ok else 503)

    @app.get("/health", response_class=HTMLResponse)
    def health_page(request: Request) -> HTMLResponse:
        language = pick_language(request, default_language)
        other = "en" if language == "zh-CN" else "zh-CN"
        return templates.TemplateResponse(
            request,
            "health.html",
            {"h": health(), "lang": language, "other": other, "t": lambda key: t(key, language)},
            status_code=200,
        )

    for router in extra_routers or []:
        app.include_router(router)
    return app
