"""API tokens (admins only): create one (shown once), list them, revoke one."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server import auth
from sync.server.api.deps import Admin, Store
from sync.server.api.models import TokenIn
from sync.server.bounds import RowId
from sync.server.store.employees import NotFound

router = APIRouter()


@router.post("/api/tokens", status_code=201)
def create_token(body: TokenIn, who: Admin, store: Store) -> dict[str, Any]:
    token = auth.create_token(store, body.role, body.label, actor=who.actor)
    return {"token": token, "role": body.role, "note": "Shown once: store it now."}


@router.get("/api/tokens")
def list_tokens(who: Admin, store: Store) -> dict[str, Any]:
    return {"tokens": auth.list_tokens(store)}


@router.delete("/api/tokens/{token_id}")
def revoke_token(token_id: RowId, who: Admin, store: Store) -> dict[str, Any]:
    if not auth.revoke_token(store, token_id, who.actor):
        raise NotFound(f"There is no active token {token_id}.", "List tokens with GET /api/tokens.")
    return {"id": token_id, "revoked": True}
