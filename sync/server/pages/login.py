"""Signing in to the HR pages with an API token, and signing out."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sync.server import auth
from sync.server.app_state import Store
from sync.server.pages.common import TOKEN_COOKIE, render

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render(request, "login.html", {"bad": False})


@router.post("/login")
def login(request: Request, store: Store, token: str = Form(max_length=200)) -> Response:
    try:
        auth.require(auth.authenticate(store, token.strip()), auth.PAGES)
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
