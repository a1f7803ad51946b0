"""One punch's snapshot, for a dispute: decrypted in memory for this view only, audited, never cached."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.bounds import RowId
from core.errors import StoreError
from device.panel.routes.admin import Panel

router = APIRouter()


@router.get("/admin/enrol/{employee_no}/snapshots/{punch_id}")
async def snapshot(request: Request, employee_no: str, punch_id: RowId, panel: Panel) -> Response:
    session = panel.session(request)
    if session is None:
        return panel.redirect(request, "/admin/login")
    if panel.snapshots is None:
        return panel.message(request, session, 404, "enrol.snapshot.missing")
    try:
        jpeg = await run_in_threadpool(panel.snapshots.view, punch_id, employee_no=employee_no, actor=session.actor)
    except StoreError:
        return panel.message(request, session, 409, "enrol.snapshot.damaged")
    if jpeg is None:
        return panel.message(request, session, 404, "enrol.snapshot.missing")
    # Decrypted for this response only: never cached by the browser or a proxy, never saved in clear.
    return Response(jpeg, media_type="image/jpeg", headers={
        "Cache-Control": "no-store", "Pragma": "no-cache", "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
        "Content-Disposition": f'inline; filename="punch-{punch_id}.jpg"',
    })
