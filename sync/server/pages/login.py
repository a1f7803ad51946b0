"""Signing in to the HR pages (an HR user's name and password, or an API token) and signing out.

A user sign-in is throttled per client address with back-off (``core.login_throttle``, the terminal
panel's throttle), each attempt counted before the scrypt check; the throttle lives in ``app.state``.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.login_throttle import LoginThrottle, LoginThrottled
from sync.server import auth, users
from sync.server.app_state import Store
from sync.server.pages.common import SESSION_COOKIE, TOKEN_COOKIE, render

router = APIRouter(include_in_schema=False)
COOKIE_SECONDS = users.SESSION_HOURS * 3600


def _throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    if not hasattr(state, "login_throttle"):
        state.login_throttle = LoginThrottle()
    throttle: LoginThrottle = state.login_throttle
    return throttle


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _page(request: Request, status: int = 200, error: str = "", **values: object) -> Response:
    return render(request, "login.html", {"bad": error == "bad-token", "error": error, **values}, status=status)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _page(request)


async def _user_login(request: Request, store: Store, username: str, password: str) -> Response:
    client = request.client.host if request.client else "unknown"
    throttle = _throttle(request)
    try:
        if wait := throttle.retry_after(client):
            raise LoginThrottled(wait)
        throttle.begin(client)
    except LoginThrottled as exc:
        refused = _page(request, 429, "hr.login.throttled", minutes=exc.minutes, username=username)
        refused.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return refused
    found = await run_in_threadpool(users.check_password, store, username, password)
    if found is None:
        return _page(request, 401, "hr.login.bad-user", username=username)
    throttle.succeeded(client)
    cookie = await run_in_threadpool(users.start_session, store, found[0], client)
    # An employee's home is their own attendance (every HR page refuses the role).
    response = RedirectResponse("/me" if found[1] == "employee" else "/", status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict", max_age=COOKIE_SECONDS,
                        secure=request.url.scheme == "https")
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.post("/login")
async def login(
    request: Request,
    store: Store,
    token: str | None = Form(None, max_length=200),
    username: str | None = Form(None, max_length=64),
    password: str | None = Form(None, max_length=256),
) -> Response:
    if not _same_origin(request):
        return _page(request, 403, "hr.login.origin")
    if username:
        return await _user_login(request, store, username, password or "")
    try:
        auth.require(auth.authenticate(store, (token or "").strip()), auth.PAGES)
    except auth.AuthError:
        return _page(request, 401, "bad-token")
    response = RedirectResponse("/", status_code=303)
    # Secure is left to the deployment (behind TLS the proxy adds it); HttpOnly keeps it from scripts.
    response.set_cookie(TOKEN_COOKIE, (token or "").strip(), httponly=True, samesite="strict", max_age=12 * 3600)
    return response


@router.post("/logout")
def logout(request: Request, store: Store) -> Response:
    users.end_session(store, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    response.delete_cookie(SESSION_COOKIE)
    return response
