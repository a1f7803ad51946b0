"""GET /api/metrics: the HR server's Prometheus metrics (``sync.server.metrics``).

Who may read them: the bearer of the scrape token in ``metrics.token_file`` (it opens nothing else), or of
an HR API token with role ``admin`` or ``it``. ``metrics.enabled = false`` answers 404.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

import hmac
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from core.errors import EdgehrError
from sync.server import auth
from sync.server.api.deps import Config, Store
from sync.server.metrics import ServerMetrics

router = APIRouter()


@router.get("/api/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, store: Store, config: Config) -> Response:
    if not config.metrics.enabled:
        raise EdgehrError("Metrics are switched off on this server.", "Set metrics.enabled = true.",
                          code="not-found")
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    token = sent.strip() if scheme.lower() == "bearer" else ""
    if not _scrape_token_matches(config.metrics.token_file, token):
        auth.require(auth.authenticate(store, token or None), auth.OPERATIONS)
    metrics: ServerMetrics | None = getattr(request.app.state, "metrics", None)
    if metrics is None:
        metrics = request.app.state.metrics = ServerMetrics(store, server_name=config.server.name)
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _scrape_token_matches(path: Path | None, token: str) -> bool:
    """True when ``token`` is the scrape token in ``path`` (read on every scrape: a new token needs no restart)."""
    if path is None or not token:
        return False
    try:
        wanted = path.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return len(wanted) >= 24 and hmac.compare_digest(wanted.encode(), token.encode())
