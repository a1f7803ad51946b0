"""The HR web pages (server-rendered Jinja2, zh-CN and en): today, timesheets, devices, employees.

Login takes an API token (no passwords exist) and keeps it in an HttpOnly, SameSite=Strict cookie; each
page checks it like the API checks a bearer token. Pages only read; changes go through the API.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from core.i18n import LANGUAGES, Language, t
from sync.server import auth
from sync.server.config import ServerConfig
from sync.server.store import HRStore, attendance, devices, employees
from sync.server.timesheets import row_json

_HERE = Path(__file__).parent
TOKEN_COOKIE = "edgehr_hr_token"  # noqa: S105 - the cookie's name, not a secret
LANG_COOKIE = "edgehr_lang"
DEFAULT_LANGUAGE: Language = "zh-CN"


def pick_language(request: Request) -> Language:
    """?lang= wins, then the language cookie, then the browser's Accept-Language, then zh-CN."""
    for wanted in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        for language in LANGUAGES:
            if wanted and wanted.lower() == language.lower():
                return language
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def pages_router(config: ServerConfig, store: HRStore) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))

    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        language = pick_language(request)
        other = "en" if language == "zh-CN" else "zh-CN"

        def tr(key: str) -> str:
            return t(key, language)

        def hhmm(moment: datetime | None) -> str:
            return moment.astimezone(store.tz).strftime("%H:%M") if moment else ""

        response = templates.TemplateResponse(
            request,
            name,
            {
                "lang": language,
                "other": other,
                "t": tr,
                "hhmm": hhmm,
                "server_name": config.server.name,
                "path": request.url.path,
                "query": dict(request.query_params),
            }
            | context,
            status_code=status,
        )
        if request.query_params.get("lang") == language:
            response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="strict")
        return response

    def signed_in(request: Request) -> auth.Principal | None:
        try:
            return auth.require(auth.authenticate(store, request.cookies.get(TOKEN_COOKIE)), auth.READ_DEVICES)
        except auth.AuthError:
            return None

    def to_login() -> Response:
        return RedirectResponse("/login", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return render(request, "login.html", {"bad": False})

    @router.post("/login")
    def login(request: Request, token: str = Form(max_length=200)) -> Response:
        try:
            auth.require(auth.authenticate(store, token.strip()), auth.READ_DEVICES)
        except auth.AuthError:
            return render(request, "login.html", {"bad": True}, status=401)
        response = RedirectResponse("/", status_code=303)
        # Secure is left to the deployment (behind TLS the proxy adds it); HttpOnly keeps it from scripts.
        response.set_cookie(TOKEN_COOKIE, token.strip(), httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(TOKEN_COOKIE)
        return response

    @router.get("/", response_class=HTMLResponse)
    def today(request: Request, day: date | None = None) -> Response:
        who = signed_in(request)
        if who is None:
            return to_login()
        if who.role not in auth.READ_HR:
            return render(request, "today.html", {"who": who, "people": [], "day": None, "forbidden": True})
        shown = day or store.now().astimezone(store.tz).date()
        people = attendance.today_summary(store, shown)
        return render(request, "today.html", {"who": who, "people": people, "day": shown, "forbidden": False})

    @router.get("/timesheets", response_class=HTMLResponse)
    def timesheets_page(request: Request) -> Response:
        who = signed_in(request)
        if who is None:
            return to_login()
        today_local = store.now().astimezone(store.tz).date()
        try:
            week_ago = (today_local - timedelta(days=6)).isoformat()
            first = date.fromisoformat(request.query_params.get("from") or week_ago)
            last = date.fromisoformat(request.query_params.get("to") or today_local.isoformat())
        except ValueError:
            first, last = today_local - timedelta(days=6), today_local
        rows: list[dict[str, Any]] = []
        if who.role in auth.READ_HR and first <= last and (last - first).days < 93:
            names = employees.names(store)
            rows = [
                row_json(r, store.tz) | {"name": names.get(r.employee_no, ""), "first": r.first_in, "last": r.last_out}
                for r in attendance.load_timesheets(store, first, last)
            ]
        return render(
            request,
            "timesheets.html",
            {"who": who, "rows": rows, "first": first, "last": last, "forbidden": who.role not in auth.READ_HR},
        )

    @router.get("/devices", response_class=HTMLResponse)
    def devices_page(request: Request) -> Response:
        who = signed_in(request)
        if who is None:
            return to_login()
        return render(request, "devices.html", {"who": who, "devices": devices.list_all(store)})

    @router.get("/employees", response_class=HTMLResponse)
    def employees_page(request: Request) -> Response:
        who = signed_in(request)
        if who is None:
            return to_login()
        people = employees.list_all(store) if who.role in auth.READ_HR else []
        return render(
            request, "employees.html", {"who": who, "people": people, "forbidden": who.role not in auth.READ_HR}
        )

    return router


def static_files() -> StaticFiles:
    """The pages' stylesheet (served from the package: no external CDN)."""
    return StaticFiles(directory=str(_HERE / "static"))
