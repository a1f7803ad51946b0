"""The devices page: every registered terminal and booth with its status as the server knows it (IT may see
it too), and for admins and IT revoking a device or asking it to rotate its keys.

Status is what the server stores (``store.device_status``): when it last heard from the device (a record,
or a command confirmed), its commands not yet confirmed, its newest punch's clock flag and model versions.
It does not store the device's software version or its own outbox backlog; the page says so.

Revoke and rotate go through a confirmation page that asks for a reason, then the API's own functions
(``cert_revocation.revoke_device``, ``devices.request_key_rotation``): audited with the reason. Forms are
same-origin with the session's CSRF token.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from core.errors import InputError
from sync.server import auth
from sync.server.app_state import Config, Store
from sync.server.cert_revocation import revoke_device
from sync.server.pages.common import Viewer, csrf_token, form_allowed, render, to_login
from sync.server.store import device_status, devices
from sync.server.store.employees import NotFound

router = APIRouter(include_in_schema=False)

#: A device heard from (a record stored, or a command confirmed) this recently counts as online.
ONLINE_WITHIN = timedelta(minutes=10)
ACTIONS = ("revoke", "rotate")
TITLE = "hr.devices.title"


def _heard(status: dict[str, Any]) -> datetime | None:
    times = [datetime.fromisoformat(t) for t in (status.get("last_record_at"), status.get("last_confirmed_at")) if t]
    return max(times) if times else None


def _local(moment: datetime | None, store: Store) -> str:
    return moment.astimezone(store.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _rows(store: Store) -> list[dict[str, Any]]:
    known = device_status.status(store)
    now = store.now()
    rows = []
    for device in devices.list_all(store):
        status = known.get(device["id"], {})
        heard = _heard(status)
        last_ms = status.get("last_punch_ms")
        acked = status.get("last_confirmed_at")
        rows.append(device | {
            "heard": _local(heard, store),
            "online": heard is not None and now - heard <= ONLINE_WITHIN and device["status"] == "active",
            "pending": status.get("pending_commands", 0),
            "rotation_pending": status.get("rotation_pending", False),
            "acked": _local(datetime.fromisoformat(acked) if acked else None, store),
            "clock": status.get("last_punch_synced"),
            "clock_at": _local(datetime.fromtimestamp(last_ms / 1000, store.tz) if last_ms else None, store),
            "models": status.get("models", {}),
        })
    return rows


def _page(request: Request, store: Store, who: auth.Principal, status: int = 200, **values: Any) -> Response:
    if who.role not in auth.READ_DEVICES:
        return render(request, "forbidden.html", {"who": who, "title": TITLE}, status=403)
    context = {"who": who, "devices": _rows(store), "can_write": who.role in auth.WRITE_DEVICES,
               "online_minutes": int(ONLINE_WITHIN.total_seconds() // 60), "error": "", "detail": "", "done": None}
    return render(request, "devices.html", context | values, status=status)


@router.get("/devices", response_class=HTMLResponse)
def devices_page(request: Request, who: Viewer, store: Store) -> Response:
    if who is None:
        return to_login()
    return _page(request, store, who)


@router.get("/devices/{device_id}/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, device_id: str, who: Viewer, store: Store, action: str = "") -> Response:
    """The confirmation step of a revoke or a key rotation: what it does, and a reason to give."""
    if who is None:
        return to_login()
    if who.role not in auth.WRITE_DEVICES:
        return render(request, "forbidden.html", {"who": who, "title": TITLE}, status=403)
    if action not in ACTIONS:
        action = "revoke"
    try:
        device = devices.get(store, device_id)
    except NotFound:
        return render(request, "device_confirm.html", {"who": who, "device": None, "missing": device_id}, status=404)
    context = {"who": who, "device": device, "action": action, "csrf": csrf_token(request, store), "missing": ""}
    return render(request, "device_confirm.html", context)


def _act(request: Request, store: Store, who: auth.Principal | None, csrf: str, reason: str) -> Response | None:
    """None when the form may go ahead; else the answer (log in, forbidden, refused, or a missing reason)."""
    if who is None:
        return to_login()
    if who.role not in auth.WRITE_DEVICES:
        return render(request, "forbidden.html", {"who": who, "title": TITLE}, status=403)
    if not form_allowed(request, store, csrf):
        return _page(request, store, who, 400, error="hr.dev.refused")
    if len(reason.strip()) < 3:
        return _page(request, store, who, 400, error="hr.dev.need_reason")
    return None


@router.post("/devices/{device_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request, device_id: str, who: Viewer, store: Store, config: Config,
    csrf: str = Form("", max_length=100), reason: str = Form("", max_length=500),
) -> Response:
    if (refused := _act(request, store, who, csrf, reason)) is not None:
        return refused
    assert who is not None
    try:
        done = revoke_device(store, config.pki, device_id, who.actor, reason.strip())
    except InputError as exc:
        return _page(request, store, who, 404 if isinstance(exc, NotFound) else 409, error="hr.dev.failed",
                     detail=f"{exc.what} {exc.fix}")
    return _page(request, store, who, done={"action": "revoke", "id": device_id, "certificate": done["certificate"]})


@router.post("/devices/{device_id}/rotate-keys", response_class=HTMLResponse)
def rotate_keys(
    request: Request, device_id: str, who: Viewer, store: Store,
    csrf: str = Form("", max_length=100), reason: str = Form("", max_length=500),
) -> Response:
    if (refused := _act(request, store, who, csrf, reason)) is not None:
        return refused
    assert who is not None
    try:
        seq = devices.request_key_rotation(store, device_id, who.actor, reason.strip())
    except InputError as exc:
        return _page(request, store, who, 404 if isinstance(exc, NotFound) else 409, error="hr.dev.failed",
                     detail=f"{exc.what} {exc.fix}")
    return _page(request, store, who, done={"action": "rotate", "id": device_id, "command_seq": seq})
