"""The bias audit page (auditors and admins): one role and period, a chart and the tables, how each number
is computed, and the CSV."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sync.server import auth, bias_audit
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, render, to_login
from sync.server.store import review

router = APIRouter(include_in_schema=False)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/bias-audit", response_class=HTMLResponse)
def bias_audit_page(request: Request, who: Viewer, store: Store, role: str | None = None) -> Response:
    if who is None:
        return to_login()
    if who.role not in auth.AUDIT:
        return render(request, "forbidden.html", {"who": who, "title": "hr.audit.title"}, status=403)
    roles = [r["role_id"] for r in review.roles(store)]
    chosen = role if role in roles else (roles[0] if roles else None)
    first, last = _day(request.query_params.get("from")), _day(request.query_params.get("to"))
    result = bias_audit.run(store, chosen, first, last) if chosen else None
    return render(
        request,
        "bias_audit.html",
        {"who": who, "roles": roles, "role": chosen, "first": first, "last": last, "audit": result},
    )
