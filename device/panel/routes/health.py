"""The terminal's health: as JSON for monitoring (503 when unhealthy) and as a page on its screen."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from core.i18n import Language, t
from device.health import Health
from device.panel.language import pick_language

router = APIRouter()
_templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


def _report(request: Request) -> Health:
    report: Health = request.app.state.health()
    return report


@router.get("/api/health")
def api_health(request: Request) -> JSONResponse:
    report = _report(request)
    return JSONResponse(report.as_dict(), status_code=200 if report.ok else 503)


@router.get("/health", response_class=HTMLResponse)
def health_page(request: Request) -> HTMLResponse:
    default: Language = request.app.state.default_language
    language = pick_language(request, default)
    other = "en" if language == "zh-CN" else "zh-CN"
    return _templates.TemplateResponse(
        request,
        "health.html",
        {"h": _report(request), "lang": language, "other": other, "t": lambda key: t(key, language)},
        status_code=200,
    )
