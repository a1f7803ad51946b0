"""What every HR page shares: the language choice, the signed-in viewer, and rendering a template.

People sign in with an HR user account (name and password: a server-side session whose cookie is
HttpOnly and SameSite=Strict, sync/server/users.py); an API token still signs in too (kept in its own
cookie and checked like the API checks a bearer token). Each page checks the viewer's role.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

import hashlib
import hmac
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from core.i18n import LANGUAGES, Language, t
from sync.server import auth, users
from sync.server.app_state import Store, get_config, get_store

#: sync/server/templates and sync/server/static (beside this package, shared with nothing else).
SERVER_DIR = Path(__file__).resolve().parent.parent
TOKEN_COOKIE = "edgehr_hr_token"  # noqa: S105 - the cookie's name, not a secret
SESSION_COOKIE = users.SESSION_COOKIE
LANG_COOKIE = "edgehr_lang"
DEFAULT_LANGUAGE: Language = "zh-CN"

_templates = Jinja2Templates(directory=str(SERVER_DIR / "templates"))


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


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """The template ``name`` in the request's language; a ?lang= choice is remembered in a cookie."""
    language = pick_language(request)
    other = "en" if language == "zh-CN" else "zh-CN"
    tz = get_store(request).tz

    def tr(key: str) -> str:
        return t(key, language)

    def hhmm(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%H:%M") if moment else ""

    response = _templates.TemplateResponse(
        request,
        name,
        {
            "lang": language,
            "other": other,
            "t": tr,
            "hhmm": hhmm,
            "server_name": get_config(request).server.name,
            "path": request.url.path,
            "query": dict(request.query_params),
        }
        | context,
        status_code=status,
    )
    if request.query_params.get("lang") == language:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, samesite="strict")
    return response


def signed_in(request: Request, store: Store) -> auth.Principal | None:
    """The viewer, from the user session cookie or else the token cookie; None without either (or with a
    token no page may use)."""
    found = users.session(store, request.cookies.get(SESSION_COOKIE))
    if found is not None:
        return found.principal
    try:
        return auth.require(auth.authenticate(store, request.cookies.get(TOKEN_COOKIE)), auth.PAGES)
    except auth.AuthError:
        return None


#: A page route's parameter annotated with this is the signed-in viewer (None: show the login page).
Viewer = Annotated[auth.Principal | None, Depends(signed_in)]


def csrf_token(request: Request, store: Store) -> str:
    """The CSRF token a page's forms carry: the user session's own, or one derived from the token cookie."""
    found = users.session(store, request.cookies.get(SESSION_COOKIE))
    if found is not None:
        return found.csrf
    token = request.cookies.get(TOKEN_COOKIE) or ""
    return hashlib.sha256(f"edgehr-csrf:{token}".encode()).hexdigest() if token else ""


def form_allowed(request: Request, store: Store, sent: str | None) -> bool:
    """A page form's POST: same origin (the Origin header, when sent, names this server) and its CSRF token."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        return False
    wanted = csrf_token(request, store)
    return bool(wanted) and hmac.compare_digest(wanted, sent or "")


def to_login() -> Response:
    return RedirectResponse("/login", status_code=303)
