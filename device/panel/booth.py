"""The booth's screens (800x480 touchscreen, zh-CN and en): one page that polls /booth/state and posts steps.

Served like the kiosk screen: to the booth's own browser (loopback) or with the kiosk token. Steps are
JSON POSTs (a page from another site cannot send them without a CORS pre-flight this app never grants).
A refused step answers 409 with its message in both languages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from core.i18n import Language, both, catalog
from device.booth import demographics
from device.booth.flow import Booth, BoothRefused
from device.panel.kiosk import KioskAccess
from device.store import retention_policy

_HERE = Path(__file__).parent
_STATIC = {"booth.js": "text/javascript", "booth.css": "text/css"}
_NO_STORE = {"Cache-Control": "no-store"}
MAX_TEXT = 20000


def page_strings() -> dict[str, dict[str, str]]:
    return {lang: {k: v for k, v in catalog(lang).items() if k.startswith(("booth.", "lang."))}
            for lang in ("zh-CN", "en")}


def booth_state(booth: Booth, device_name: str) -> dict[str, Any]:
    with booth.lock:
        state: dict[str, Any] = {"phase": booth.phase, "sub": booth.sub, "device_name": device_name,
                                 "walk_in": booth.settings.walk_in, "remaining": booth.remaining_seconds(),
                                 "identity_check": booth.settings.identity_check}
        if booth.pending is not None:
            state["candidate"] = booth.pending.name
            # The notice says whether a photo will be compared (after consent) or the check is skipped.
            state["identity_photo"] = bool(booth.settings.identity_check and booth.identity is not None
                                           and booth.identity.has_photo(booth.pending.candidate_id))
        elif booth.session is not None:
            state["candidate"] = booth.session.candidate_name
        if booth.bank is not None and booth.phase == "question" and booth.index < len(booth.bank.questions):
            q = booth.question
            state["question"] = {"id": q.id, "text": q.text, "number": booth.index + 1,
                                 "count": len(booth.bank.questions), "prepare_seconds": q.prepare_seconds,
                                 "answer_seconds": q.answer_seconds}
            state["retakes_left"] = booth.retakes_left()
        if booth.phase == "resume" and booth.bank is not None:
            state["question"] = {"number": booth.index + 1, "count": len(booth.bank.questions)}
        take = booth.take
        if take is not None:
            state["answer"] = {"text": take.transcript or take.partial, "seconds": round(take.seconds, 1),
                               "error": take.error_code, "warnings": [w.split(":")[0] for w in take.warnings]}
        if booth.phase == "done":
            state["reference"] = booth.result_ref
    return state


def booth_router(booth: Booth, *, device_name: str, default_language: Language,
                 access_token: str | None = None) -> APIRouter:
    router = APIRouter(dependencies=[Depends(KioskAccess(access_token))])
    templates = Jinja2Templates(directory=str(_HERE / "templates"))

    @router.get("/booth", response_class=HTMLResponse)
    def booth_page(request: Request) -> HTMLResponse:
        wanted = request.query_params.get("lang", "")
        language: Language = "en" if wanted == "en" else "zh-CN" if wanted == "zh-CN" else default_language
        policy = retention_policy.current(booth.store)  # the site's policy from the server, else the config's
        return templates.TemplateResponse(request, "booth.html", {
            "lang": language, "strings": page_strings(), "device_name": device_name,
            "retention_days": policy.audio_days if policy else booth.settings.retention_days,
            "self_report": demographics.form()})

    @router.get("/booth/state")
    def state() -> JSONResponse:
        return JSONResponse(booth_state(booth, device_name), headers=_NO_STORE)

    steps: dict[str, Callable[[dict[str, Any]], None]] = {
        "checkin": lambda b: booth.check_in(_text(b, "code", 64)),
        "walkin": lambda b: booth.walk_in(_text(b, "name", 128)),
        "consent": lambda b: booth.consent("en" if b.get("lang") == "en" else "zh-CN"),
        "decline": lambda b: booth.decline(),
        "start": lambda b: booth.start_answer(),
        "stop": lambda b: booth.stop_answer(),
        "type": lambda b: booth.type_instead(),
        "typed": lambda b: booth.submit_typed(_text(b, "text", MAX_TEXT)),
        "next": lambda b: booth.next_question(),
        "end": lambda b: booth.end_session(),
        "resume": lambda b: booth.resume(),
        "demographics": lambda b: demographics.submit(booth, _answers(b)),
    }

    @router.post("/booth/{step}")
    async def booth_step(step: str, request: Request) -> JSONResponse:
        action = steps.get(step)
        if action is None:
            raise HTTPException(404, "No such booth step.")
        body = await _json_body(request)
        try:
            await run_in_threadpool(action, body)
        except BoothRefused as exc:
            return JSONResponse({"ok": False, "code": exc.code, "message": both(f"booth.error.{exc.code}")},
                                status_code=409, headers=_NO_STORE)
        return JSONResponse({"ok": True, "state": booth_state(booth, device_name)}, headers=_NO_STORE)

    @router.get("/booth/static/{name}")
    def booth_static(name: str) -> FileResponse:
        if name not in _STATIC:
            raise HTTPException(404, "No such booth file.")
        return FileResponse(_HERE / "static" / name, media_type=_STATIC[name])

    return router


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise HTTPException(422, f"{key} must be text of at most {limit} characters.")
    return value


def _answers(body: dict[str, Any]) -> dict[str, str]:
    value = body.get("answers", {})
    if (not isinstance(value, dict) or len(value) > 10
            or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 64
                       for k, v in value.items())):
        raise HTTPException(422, "answers must be an object of at most 10 short texts.")
    return value


async def _json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "Send booth steps as application/json.")
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise HTTPException(403, "A booth step must come from the booth page of this device.")
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(422, "The step is not valid JSON.") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "The step must be a JSON object.")
    return body
