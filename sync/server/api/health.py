"""GET /api/health: is the database reachable (no token: load balancers and monitoring ask it)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sync.server.api.deps import Config, Store

router = APIRouter()


@router.get("/api/health")
def health(store: Store, config: Config) -> JSONResponse:
    try:
        with store.db.read() as tx:
            tx.execute("SELECT 1").one()
        ok = True
    except Exception:  # any driver error means "database unreachable": reported, not hidden
        ok = False
    return JSONResponse(
        {"ok": ok, "database": store.db.dialect, "server": config.server.name}, status_code=200 if ok else 503
    )
