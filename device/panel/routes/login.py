"""Admin sign-in with the terminal's admin password (throttled), and sign-out."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from device.panel.admin_auth import COOKIE
from device.panel.login_throttle import LoginThrottled
from device.panel.routes.admin import Panel, Refused, same_origin, small_form

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, panel: Panel) -> Response:
    return panel.redirect(request, "/admin/enrol")


@router.get("/admin/login", response_class=HTMLResponse)
def login_page(request: Request, panel: Panel) -> Response:
    return panel.render(request, "admin_login.html", None, configured=panel.auth.configured(), error="")


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
    try:
        if wait := auth.retry_after(client):
            raise LoginThrottled(wait)
        token = await run_in_threadpool(auth.login, form.get("password", ""), client)
    except LoginThrottled as exc:
        throttled = panel.render(request, "admin_login.html", None, status=429, configured=True,
                                 error="admin.login.throttled", minutes=exc.minutes)
        throttled.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return throttled
    if token is None:
        return panel.render(request, "admin_login.html", None, status=401, configured=auth.configured(),
                            error="admin.login.bad" if auth.configured() else "admin.login.unset")
    response = panel.redirect(request, "/admin/enrol")
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/admin",
                        secure=request.url.scheme == "https")
    return response


@router.post("/admin/logout")
async def logout(request: Request, panel: Panel) -> Response:
    try:
        form = await small_form(request)
        panel.check_post(request, form.get("csrf"))
    except Refused as exc:
        return panel.refused(request, exc)
    panel.auth.logout(request.cookies.get(COOKIE))
    response = panel.redirect(request, "/admin/login")
    response.delete_cookie(COOKIE, path="/admin")
    return response
