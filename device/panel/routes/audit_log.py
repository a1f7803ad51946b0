"""The terminal's audit log, newest first, paged: who did what to whom (never biometric data)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from device.panel.routes.admin import Panel
from device.store import audit

router = APIRouter()


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, panel: Panel) -> Response:
    checked = panel.terminal_view(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    raw = request.query_params.get("page", "")
    page = int(raw) if raw.isdigit() and len(raw) < 6 else 0
    rows, total = audit.page(panel.store, page)
    return panel.render(request, "audit.html", session, rows=rows, page=page,
                        pages=max(1, -(-total // audit.PAGE_SIZE)), total=total)
