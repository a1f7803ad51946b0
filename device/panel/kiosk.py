"""The kiosk screen routes: the full-screen page, its state as JSON, and the optional camera preview.

The page polls /kiosk/state; everything it shows comes from the KioskScreen the kiosk loop writes
(in this process, or over the kiosk's socket when the panel runs alone: device/panel/live.py).
No external resources: the page, script and style are served from this package.

The screen shows who punched last (name, number, time) and may show the camera: it is served only to the
terminal's own browser (a loopback client), or elsewhere to a browser that presents the device's kiosk
token (``kiosk.access_token``: ``/kiosk?token=...`` once, which leaves a cookie, or an ``X-Kiosk-Token``
header). Anyone else on the LAN gets 403, even where the panel listens on 0.0.0.0 for the admin pages.

In 1:1 mode the page shows a keypad and POSTs the typed employee number (and PIN) to /kiosk/claim,
which hands it to the running kiosk loop. Claims are taken only from the terminal itself (the kiosk
browser runs on the device: a loopback client) and only as JSON, which a page from another site cannot
send without a CORS pre-flight this app never grants: nobody on the LAN can guess PINs through the panel.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from core.i18n import Language, both, catalog
from device.attendance.claims import ClaimSource
from device.attendance.outcomes import Claimed, ClaimRefused, Outcome
from device.panel.live import ClaimsView, ScreenView

_HERE = Path(__file__).parent
_STATIC = {"kiosk.js": "text/javascript", "kiosk.css": "text/css"}

#: The i18n keys the page needs in the browser (the rest of each message arrives with the state).
_PAGE_KEYS = ("kiosk.title", "kiosk.out-of-order", "kiosk.offline", "lang.switch", "keypad.number", "keypad.pin",
              "keypad.ok", "keypad.clear", "keypad.back", "keypad.cancel", "keypad.claimed", "keypad.locked",
              "keypad.sending")

#: Clients a claim is taken from: the kiosk browser on the terminal itself.
LOOPBACK = ("127.0.0.1", "::1")
#: The cookie a browser elsewhere keeps the kiosk token in (after opening /kiosk?token=...).
KIOSK_COOKIE = "edgehr_kiosk"
KIOSK_HEADER = "x-kiosk-token"
#: Longest field accepted in a claim (an employee number or a PIN); longer is refused before any check.
MAX_FIELD = 64

Claim = Callable[..., Outcome]


def kiosk_router(
    screen: ScreenView,
    *,
    default_language: Language,
    metrics: Callable[[], dict[str, object]] | None = None,
    claims: ClaimsView | None = None,
    claim: Claim | None = None,
    access_token: str | None = None,
    timezone: str = "",  # the site's IANA zone: the header clock shows the site's time, not the browser's
) -> APIRouter:
    """Routes of the kiosk screen; ``metrics`` (the kiosk loop's counters) adds GET /kiosk/metrics.

    1:1 mode passes the kiosk's ``claims`` desk (its state is shown on the page) and ``claim`` (the running
    kiosk's ``Kiosk.claim``), which add the keypad and POST /kiosk/claim and /kiosk/claim/cancel.
    ``access_token``: the token a browser that is not on the terminal itself must present (None: none may).
    """
    router = APIRouter(dependencies=[Depends(KioskAccess(access_token))])
    templates = Jinja2Templates(directory=str(_HERE / "templates"))

    @router.get("/kiosk", response_class=HTMLResponse)
    def kiosk_page(request: Request) -> HTMLResponse:
        # The kiosk browser's own locale says nothing about who stands in front of it: the device's
        # language comes first, ?lang= (and the on-screen switch) choose the other.
        wanted = request.query_params.get("lang", "")
        language: Language = "en" if wanted == "en" else "zh-CN" if wanted == "zh-CN" else default_language
        strings = {lang: {k: catalog(lang)[k] for k in _PAGE_KEYS} for lang in ("zh-CN", "en")}
        page = templates.TemplateResponse(
            request,
            "kiosk.html",
            {
                "lang": language,
                "strings": strings,
                "device_name": screen.device_name,
                "preview": screen.preview_enabled,
                "one_to_one": claims is not None,
                "keypad": claims is not None and claims.settings.keypad,
                "pin": claims is not None and claims.settings.pin, "timezone": timezone,
            },
        )
        if access_token and (sent := request.query_params.get("token")):  # KioskAccess has checked it
            page.set_cookie(KIOSK_COOKIE, sent, httponly=True, samesite="strict", path="/kiosk",
                            secure=request.url.scheme == "https")
        return page

    @router.get("/kiosk/state")
    def kiosk_state() -> JSONResponse:
        # Never cached: the page polls this several times a second.
        state = screen.state()
        if claims is not None:
            state["claim"] = claims.view()
        return JSONResponse(state, headers={"Cache-Control": "no-store"})

    if claims is not None and claim is not None:
        _add_claim_routes(router, claims, claim)

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


class KioskAccess:
    """A dependency that lets a request through from the terminal itself (loopback) or with the kiosk token."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    def __call__(self, request: Request) -> None:
        if is_loopback(request.client.host if request.client else ""):
            return
        sent = (request.headers.get(KIOSK_HEADER) or request.cookies.get(KIOSK_COOKIE)
                or (request.query_params.get("token") if request.url.path == "/kiosk" else None))
        if self.token and sent and hmac.compare_digest(sent.encode(), self.token.encode()):
            return
        raise HTTPException(403, "The kiosk screen is served only to the terminal's own browser. To show it "
                                 "elsewhere, set kiosk.access_token in the device configuration and open "
                                 "/kiosk?token=<that token> once on that screen.")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.removeprefix("::ffff:")).is_loopback
    except ValueError:
        return False


def _add_claim_routes(router: APIRouter, desk: ClaimsView, submit: Claim) -> None:
    @router.post("/kiosk/claim")
    async def kiosk_claim(request: Request) -> JSONResponse:
        body = await _claim_body(request)
        number, pin = body.get("employee_no"), body.get("pin")
        if not isinstance(number, str) or not isinstance(pin, str | None):
            raise HTTPException(422, "Send {\"employee_no\": \"...\", \"pin\": \"...\" or null}.")
        if len(number) > MAX_FIELD or len(pin or "") > MAX_FIELD:
            raise HTTPException(422, f"employee_no and pin are at most {MAX_FIELD} characters.")
        source: ClaimSource = "keypad"
        # scrypt and the store's lock: run in FastAPI's worker threads, not on the event loop.
        from starlette.concurrency import run_in_threadpool

        outcome = await run_in_threadpool(lambda: submit(number, source=source, pin=pin or None))
        return _claim_answer(outcome)

    @router.post("/kiosk/claim/cancel")
    async def kiosk_claim_cancel(request: Request) -> JSONResponse:
        await _claim_body(request)
        return JSONResponse({"ok": True, "cancelled": desk.cancel()}, headers={"Cache-Control": "no-store"})


async def _claim_body(request: Request) -> dict[str, Any]:
    """The JSON object of a claim request from the terminal itself; 403/415/422 otherwise."""
    host = request.client.host if request.client else ""
    if host not in LOOPBACK:
        raise HTTPException(403, "Claims are taken only from the kiosk screen on the terminal itself.")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "Send the claim as application/json.")
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise HTTPException(403, "A claim must come from the kiosk page of this terminal.")
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(422, "The claim is not valid JSON.") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "The claim must be a JSON object.")
    return body


def _claim_answer(outcome: Outcome) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if isinstance(outcome, Claimed):
        return JSONResponse({"ok": True, "kind": outcome.kind, "employee_no": outcome.employee_no,
                             "timeout_seconds": outcome.timeout_seconds}, headers=headers)
    if isinstance(outcome, ClaimRefused):
        status = 429 if outcome.code == "locked" else 401 if outcome.code == "pin-required" else 400
        if outcome.retry_after_seconds:
            headers["Retry-After"] = str(outcome.retry_after_seconds)
        message = both(f"kiosk.claim.{outcome.code}", number=outcome.employee_no or "",
                       seconds=outcome.retry_after_seconds or 0)
        return JSONResponse({"ok": False, "kind": outcome.kind, "code": outcome.code, "message": message,
                             "retry_after_seconds": outcome.retry_after_seconds}, status_code=status,
                            headers=headers)
    raise AssertionError(f"a claim answers Claimed or ClaimRefused, not {outcome!r}")
