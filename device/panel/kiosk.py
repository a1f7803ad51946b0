"""The kiosk screen routes: the full-screen page, its state as JSON, and the optional camera preview.

The page polls /kiosk/state; everything it shows comes from the KioskScreen the kiosk loop writes.
No external resources: the page, script and style are served from this package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from device.attendance.screen import KioskScreen
from device.i18n import Language, catalog

_HERE = Path(__file__).parent
_STATIC = {"kiosk.js": "text/javascript", "kiosk.css": "text/css"}

#: The i18n keys the page needs in the browser (the rest of each message arrives with the state).
_PAGE_KEYS = ("kiosk.title", "kiosk.out-of-order", "kiosk.offline", "lang.switch")


def kiosk_router(
    screen: KioskScreen,
    *,
    default_language: Language,
    metrics: Callable[[], dict[str, object]] | None = None,
) -> APIRouter:
    """Routes of the kiosk screen; ``metrics`` (the kiosk loop's counters) adds GET /kiosk/metrics."""
    router = APIRouter()
    templates = Jinja2Templates(directory=str(_HERE / "templates"))

    @router.get("/kiosk", response_class=HTMLResponse)
    def kiosk_page(request: Request) -> HTMLResponse:
        # The kiosk browser's own locale says nothing about who stands in front of it: the device's
        # language comes first, ?lang= (and the on-screen switch) choose the other.
        wanted = request.query_params.get("lang", "")
        language: Language = "en" if wanted == "en" else "zh-CN" if wanted == "zh-CN" else default_language
        strings = {lang: {k: catalog(lang)[k] for k in _PAGE_KEYS} for lang in ("zh-CN", "en")}
        return templates.TemplateResponse(
            request,
            "kiosk.html",
            {
                "lang": language,
                "strings": strings,
                "device_name": screen.device_name,
                "preview": screen.preview_enabled,
            },
        )

    @router.get("/kiosk/state")
    def kiosk_state() -> JSONResponse:
        # Never cached: the page polls this several times a second.
        return JSONResponse(screen.state(), headers={"Cache-Control": "no-store"})

    @router.get("/kiosk/preview.jpg")
    def kiosk_preview() -> Response:
        if not screen.preview_enabled:
            raise HTTPException(404, "The camera preview is off (kiosk.preview in the device configuration).")
        jpeg = screen.preview_jpeg()
        if jpeg is None:
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    if metrics is not None:
        counters = metrics

        @router.get("/kiosk/metrics")
        def kiosk_metrics() -> JSONResponse:
            # Punches, unknown faces, spoofs and poor images by reason since the terminal started.
            return JSONResponse(counters(), headers={"Cache-Control": "no-store"})

    @router.get("/kiosk/static/{name}")
    def kiosk_static(name: str) -> FileResponse:
        if name not in _STATIC:
            raise HTTPException(404, "No such kiosk file.")
        return FileResponse(_HERE / "static" / name, media_type=_STATIC[name])

    return router
