"""The retention page (admins edit, HR reads): each site's policy and whether its devices confirmed it, a form
to change one with a reason (audited, sent to the site's booths), the policy changes, and the deletion log:
what the server's job and each booth's job deleted, counts per run."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import datetime

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.errors import InputError
from sync.server import auth
from sync.server.app_state import Store
from sync.server.pages.common import Viewer, csrf_token, form_allowed, render, to_login
from sync.server.store import booth_retention, devices, retention

router = APIRouter(include_in_schema=False)
_SHOWN = "%Y-%m-%d %H:%M"


def _page(request: Request, store: Store, who: auth.Principal, status: int = 200, error: str = "",
          detail: str = "") -> Response:  # fmt: skip
    if who.role not in auth.READ_RETENTION:
        return render(request, "forbidden.html", {"who": who, "title": "hr.retention.title"}, status=403)
    sent = booth_retention.delivery(store)
    context = {
        "who": who,
        "policies": retention.policies(store),
        "devices": [d | {"policy": sent.get(d["id"])} for d in devices.list_all(store) if d["status"] == "active"],
        "changes": retention.history(store),
        "server_runs": retention.runs(store, 50),
        "booth_runs": booth_retention.runs(store, 50),
        "editable": who.role in auth.ADMIN,
        "csrf": csrf_token(request, store),
        "done": request.query_params.get("done", ""),
        "error": error,
        "detail": detail,
        # Every time on the page in the server's zone: the booths' (epoch ms) and the store's (ISO text) alike.
        "ms_time": lambda ms: datetime.fromtimestamp(ms / 1000, store.tz).strftime(_SHOWN),
        "iso_time": lambda text: datetime.fromisoformat(text).astimezone(store.tz).strftime(_SHOWN) if text else "",
    }
    return render(request, "retention.html", context, status=status)


@router.get("/retention", response_class=HTMLResponse)
def retention_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    return _page(request, store, who)


@router.post("/retention/policy", response_class=HTMLResponse)
def set_policy_form(
    request: Request, who: Viewer, store: Store,
    csrf: str = Form("", max_length=100), site: str = Form("", max_length=64),
    audio_days: int = Form(0, ge=0, le=100000), transcript_days: int = Form(0, ge=0, le=100000),
    reason: str = Form("", max_length=500),
) -> Response:  # fmt: skip
    if who is None:
        return to_login()
    if who.role not in auth.ADMIN:
        return render(request, "forbidden.html", {"who": who, "title": "hr.retention.title"}, status=403)
    if not form_allowed(request, store, csrf):  # the role may, this form may not: a stale or foreign page
        return _page(request, store, who, 400, error="hr.retention.refused")
    if not site.strip() or not reason.strip():
        return _page(request, store, who, 400, error="hr.retention.needs_reason")
    try:
        retention.set_policy(store, site.strip(), audio_days, transcript_days, who.actor, reason.strip())
    except InputError as exc:
        return _page(request, store, who, 400, error="hr.retention.invalid", detail=f"{exc.what} {exc.fix}")
    return RedirectResponse(f"/retention?done={site.strip()}", status_code=303)
