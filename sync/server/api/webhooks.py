"""Webhook subscriptions, their deliveries, and the dead letters (deliveries given up on) to retry."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server import webhooks
from sync.server.api.deps import Config, Store, WriteHR
from sync.server.api.models import WebhookIn
from sync.server.bounds import RowId
from sync.server.store import webhook_rows
from sync.server.store.employees import NotFound

router = APIRouter()


@router.post("/api/webhooks", status_code=201)
def create_webhook(body: WebhookIn, who: WriteHR, store: Store, config: Config) -> dict[str, Any]:
    webhooks.check_subscription(body.url, allow_private=config.webhooks.allow_private_targets)
    return {"id": webhook_rows.subscribe(store, body.subscription(), who.actor)}


@router.get("/api/webhooks")
def list_webhooks(who: WriteHR, store: Store) -> dict[str, Any]:
    return {"webhooks": webhook_rows.list_all(store)}


@router.get("/api/webhooks/dead-letters")
def list_dead_letters(who: WriteHR, store: Store) -> dict[str, Any]:
    """Deliveries given up on after ``webhooks.max_attempts`` failed attempts, newest first."""
    return {"dead_letters": webhook_rows.dead_letters(store)}


@router.post("/api/webhooks/deliveries/{delivery_id}/retry")
def retry_delivery(delivery_id: RowId, who: WriteHR, store: Store) -> dict[str, Any]:
    """Give a dead-lettered delivery a fresh schedule; the delivery loop sends it on its next round."""
    if not webhook_rows.requeue(store, delivery_id, who.actor):
        raise NotFound(
            f"Delivery {delivery_id} is not dead-lettered.", "List them with GET /api/webhooks/dead-letters."
        )
    return {"id": delivery_id, "requeued": True}


@router.get("/api/webhooks/{webhook_id}/deliveries")
def list_deliveries(webhook_id: RowId, who: WriteHR, store: Store) -> dict[str, Any]:
    return {"deliveries": webhook_rows.deliveries(store, webhook_id)}


@router.delete("/api/webhooks/{webhook_id}")
def delete_webhook(webhook_id: RowId, who: WriteHR, store: Store) -> dict[str, Any]:
    if not webhook_rows.deactivate(store, webhook_id, who.actor):
        raise NotFound(f"There is no active webhook {webhook_id}.", "List webhooks with GET /api/webhooks.")
    return {"id": webhook_id, "active": False}
