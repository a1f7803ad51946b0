"""Sign-in with a panel account (throttled), sign-out, and the first run's admin account.

First run: until an admin password exists, the terminal's own screen (a loopback browser: the person is
at the device) may create the admin account here; anywhere else the page says to run
``edgehr device admin-password`` at the device. There is never a default password.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from core.login_throttle import LoginThrottled
from device.panel.admin_auth import ADMIN_USER, COOKIE, MIN_PASSWORD_LENGTH
from device.panel.routes.admin import AdminPanel, Panel, Refused, same_origin, small_form

router = APIRouter()

#: The terminal's own browser (the kiosk screen's, or a keyboard at the device).
LOOPBACK = ("127.0.0.1", "::1")


def _at_device(request: Request) -> bool:
    return request.client is not None and request.client.host in LOOPBACK


def _login_page(request: Request, panel: AdminPanel, status: int = 200, error: str = "", **values: object) -> Response:
    return panel.render(request, "admin_login.html", None, status=status, configured=panel.auth.configured(),
                        at_device=_at_device(request), error=error, min_length=MIN_PASSWORD_LENGTH, **values)


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, panel: Panel) -> Response:
    return panel.redirect(request, panel.home)


@router.get("/admin/login", response_class=HTMLResponse)
def login_page(request: Request, panel: Panel) -> Response:
    return _login_page(request, panel)


def _signed_in(request: Request, panel: AdminPanel, token: str) -> Response:
    response = panel.redirect(request, panel.home)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/admin",
                        secure=request.url.scheme == "https")
    return response


@router.post("/admin/login", response_class=HTMLResponse)
async def login(request: Request, panel: Panel) -> Response:
    auth = panel.auth
    try:
        if not same_origin(request):
            raise Refused("admin.csrf", 403)
        form = await small_form(request)
    except Refused as exc:
        return panel.refused(request, exc)
    client = request.client.host if request.client else "unknown"
    user = form.get("user", "").strip().lower() or ADMIN_USER
    try:
        if wait := auth.retry_after(client):
            raise LoginThrottled(wait)
        token = await run_in_threadpool(auth.login, form.get("password", ""), client, user)
    except LoginThrottled as exc:
        throttled = _login_page(request, panel, 429, "admin.login.throttled", minutes=exc.minutes)
        throttled.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return throttled
    if token is None:
        return _login_page(request, panel, 401, "admin.login.bad" if auth.configured() else "admin.login.unset")
    return _signed_in(request, panel, token)


@router.post("/admin/setup", response_class=HTMLResponse)
async def first_admin(request: Request, panel: Panel) -> Response:
    """The first run's admin account, from the terminal's own screen only; refused once one exists."""
    try:
        if not same_origin(request):
            raise Refused("admin.csrf", 403)
        form = await small_form(request)
    except Refused as exc:
        return panel.refused(request, exc)
    if not _at_device(request):
        return _login_page(request, panel, 403, "admin.setup.at-device")
    password = form.get("password", "")
    if password != form.get("repeat", ""):
        return _login_page(request, panel, 400, "admin.setup.mismatch")
    try:
        created = await run_in_threadpool(panel.auth.create_first_admin, password)
    except InputError:
        return _login_page(request, panel, 400, "admin.setup.short")
    if not created:
        return _login_page(request, panel, 409, "admin.setup.exists")
    client = request.client.host if request.client else "unknown"
    token = await run_in_threadpool(panel.auth.login, password, client, ADMIN_USER)
    if token is None:  # pragma: no cover - the password was just written
        return _login_page(request, panel, 500, "admin.login.bad")
    return _signed_in(request, panel, token)


@router.post("/admin/logout")
async def logout(request: Request, panel: Panel) -> Response:
    try:
        form = await small_form(request)
        panel.check_post(request, form.get("csrf"), change=False)
    except Refused as exc:
        return panel.refused(request, exc)
    panel.auth.logout(request.cookies.get(COOKIE))
    response = panel.redirect(request, "/admin/login")
    response.delete_cookie(COOKIE, path="/admin")
    return response
