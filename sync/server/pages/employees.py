"""The employees page (personal data: readers of HR data only; others are refused)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server import auth
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import employees

router = APIRouter(include_in_schema=False)


@router.get("/employees", response_class=HTMLResponse)
def employees_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.READ_HR:
        return render(request, "forbidden.html", {"who": who, "title": "hr.employees.title"}, status=403)
    return render(request, "employees.html", {"who": who, "people": employees.list_all(store)})
