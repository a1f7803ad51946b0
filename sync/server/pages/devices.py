"""The devices page: every registered terminal and booth with its status (IT may see it too)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server import auth
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import devices

router = APIRouter(include_in_schema=False)


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    allowed = who.role in auth.READ_DEVICES
    shown = devices.list_all(store) if allowed else []
    return render(request, "devices.html", {"who": who, "devices": shown, "forbidden": not allowed})
