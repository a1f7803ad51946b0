"""The panel's accounts: the admin adds viewers (see every page, change nothing) or further admins, and
removes them; the account "admin" itself is changed at the device (``edgehr device admin-password``)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import InputError
from device.panel.admin_auth import (
    ADMIN_USER,
    MIN_PASSWORD_LENGTH,
    Session,
    read_accounts,
    remove_account,
    write_account,
)
from device.panel.routes.admin import Panel
from device.store import audit

router = APIRouter()


def _page(request: Request, panel: Panel, session: Session, status: int = 200, error: str = "", detail: str = "",
          done: str = "") -> Response:
    accounts = sorted(read_accounts(panel.auth.password_file).items())
    return panel.render(request, "accounts.html", session, status=status, accounts=accounts, error=error,
                        detail=detail, done=done, min_length=MIN_PASSWORD_LENGTH)


@router.get("/admin/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, panel: Panel) -> Response:
    checked = panel.terminal_view(request)
    if isinstance(checked, Response):
        return checked
    return _page(request, panel, checked[0])


@router.post("/admin/accounts/{action}", response_class=HTMLResponse)
async def change(request: Request, action: str, panel: Panel) -> Response:
    checked = await panel.terminal_post(request)
    if isinstance(checked, Response):
        return checked
    session, tools, form = checked
    name = form.get("name", "").strip().lower()
    if action == "add":
        if form.get("password", "") != form.get("repeat", ""):
            return _page(request, panel, session, 400, "admin.setup.mismatch")
        if name == ADMIN_USER:
            return _page(request, panel, session, 400, "accounts.error.admin")
        try:
            await run_in_threadpool(write_account, panel.auth.password_file, name, form.get("role", ""),
                                    form.get("password", ""))
        except InputError as exc:
            return _page(request, panel, session, 400, "accounts.error.invalid", f"{exc.what} {exc.fix}")
        detail = {"role": form.get("role", "")}
    elif action == "remove":
        if not remove_account(panel.auth.password_file, name):
            return _page(request, panel, session, 404, "accounts.error.unknown")
        detail = {}
    else:
        return panel.message(request, session, 404, "admin.page.unavailable")
    with panel.store.transaction() as conn:
        audit.record(conn, at=tools.clock.now(), actor=session.actor, action=f"account.{action}",
                     subject=f"panel:{name}", detail=detail)
    return _page(request, panel, session, done=f"accounts.done.{action}")
