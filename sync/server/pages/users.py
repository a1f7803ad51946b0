"""HR user accounts (admins only): list, add (name, role, password twice) and disable. Forms are same-origin
with the session's CSRF token; the same store calls as the API (``sync.server.users``), audited."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from sync.server import auth, users
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, csrf_token, form_allowed, render, to_login

router = APIRouter(include_in_schema=False)


def _page(request: Request, store: Store, who: auth.Principal, status: int = 200, **values: object) -> Response:
    if who.role not in auth.ADMIN:
        return render(request, "forbidden.html", {"who": who, "title": "hr.users.title"}, status=403)
    context = {"who": who, "users": users.list_users(store), "roles": auth.ROLES, "csrf": csrf_token(request, store),
               "error": "", "detail": "", "done": request.query_params.get("done", ""), "form": {}}
    return render(request, "users.html", context | values, status=status)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    return _page(request, store, who)


@router.post("/users", response_class=HTMLResponse)
async def add_user(
    request: Request, who: Viewer, store: Store,
    csrf: str = Form("", max_length=100), username: str = Form("", max_length=64), role: str = Form("", max_length=16),
    password: str = Form("", max_length=256), repeat: str = Form("", max_length=256),
    employee_no: str = Form("", max_length=64),
) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.ADMIN or not form_allowed(request, store, csrf):
        return _page(request, store, who, 403, error="hr.users.refused")
    form = {"username": username, "role": role, "employee_no": employee_no}
    if password != repeat:
        return _page(request, store, who, 400, error="hr.users.mismatch", form=form)
    try:
        await run_in_threadpool(lambda: users.create_user(store, username.strip().lower(), role, password,
                                                          actor=who.actor, employee_no=employee_no or None))
    except InputError as exc:
        return _page(request, store, who, 400, error="hr.users.invalid", detail=f"{exc.what} {exc.fix}", form=form)
    return RedirectResponse(f"/users?done={username.strip().lower()}", status_code=303)


@router.post("/users/{user_id}/disable", response_class=HTMLResponse)
def disable(
    request: Request, user_id: str, who: Viewer, store: Store, csrf: str = Form("", max_length=100)
) -> Response:
    # user_id is checked after the sign-in (a visitor without a cookie is sent to log in, whatever the path).
    if who is None:
        return to_login()
    if who.role not in auth.ADMIN or not form_allowed(request, store, csrf):
        return _page(request, store, who, 403, error="hr.users.refused")
    if user_id.isdigit() and len(user_id) <= 18:
        users.disable_user(store, int(user_id), actor=who.actor)
    return RedirectResponse("/users", status_code=303)
