"""Webhooks: registered per tenant (URL guarded at creation), and the delivery queue in Redis.

A delivery is written once with its body and queued in a sorted set by when its next attempt is
due; `jobcore.webhook_sender` drains it. Every delivery stays listed (pending, delivered or dead)
under its webhook, so a dead-lettered one is visible and nothing is lost silently.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis

from jobcore import keys, limits
from jobcore.check_models import (
    DeliveryAccepted,
    DeliveryList,
    DeliveryView,
    WebhookCreated,
    WebhookEvent,
    WebhookList,
    WebhookRequest,
    WebhookView,
)
from jobcore.errors import LimitReachedError, WebhookNotFoundError
from jobcore.redis_conn import store_errors
from jobcore.urlguard import EgressPolicy
from jobcore.webhook_signing import new_secret

DELIVERY_RECORD_TTL_S = 14 * 24 * 3600  # a delivery's record outlives its 24 h of retries by far


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class WebhookService:
    def __init__(self, client: redis.Redis, policy: EgressPolicy) -> None:
        self.r = client
        self.policy = policy

    # ---- webhooks --------------------------------------------------------------------------------

    def create(self, tenant: str, request: WebhookRequest, now: float | None = None) -> WebhookCreated:
        self.policy.check_url(request.url)  # refused before anything is written
        now = time.time() if now is None else now
        with store_errors():
            if self.r.zcard(keys.tenant_webhooks(tenant)) >= limits.MAX_WEBHOOKS_PER_TENANT:
                raise LimitReachedError(
                    f"a tenant may have at most {limits.MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first"
                )
            webhook_id = uuid.uuid4().hex
            record = {
                "webhook_id": webhook_id,
                "tenant": tenant,
                "url": request.url,
                "events": list(request.events),
                "secret": new_secret(),
                "created_at": now,
            }
            pipe = self.r.pipeline(transaction=True)
            pipe.set(keys.webhook(webhook_id), json.dumps(record))
            pipe.zadd(keys.tenant_webhooks(tenant), {webhook_id: now})
            pipe.execute()
        return WebhookCreated(**_public(record), secret=record["secret"])

    def record(self, tenant: str, webhook_id: str) -> dict[str, Any]:
        """The stored webhook, secret included (for signing); another tenant's is not found."""
        with store_errors():
            raw = self.r.get(keys.webhook(webhook_id))
        record: dict[str, Any] | None = json.loads(raw) if raw else None
        if record is None or record["tenant"] != tenant:
            raise WebhookNotFoundError(webhook_id)
        return record

    def get(self, tenant: str, webhook_id: str) -> WebhookView:
        return WebhookView(**_public(self.record(tenant, webhook_id)))

    def list_all(self, tenant: str) -> WebhookList:
        with store_errors():
            ids = [str(i) for i in self.r.zrange(keys.tenant_webhooks(tenant), 0, -1)]
            raws = self.r.mget([keys.webhook(i) for i in ids]) if ids else []
        return WebhookList(webhooks=[WebhookView(**_public(json.loads(raw))) for raw in raws if raw])

    def delete(self, tenant: str, webhook_id: str) -> None:
        self.record(tenant, webhook_id)
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.delete(keys.webhook(webhook_id))
            pipe.zrem(keys.tenant_webhooks(tenant), webhook_id)
            pipe.execute()

    def subscribed(self, tenant: str, event: WebhookEvent, among: list[str] | None = None) -> list[str]:
        """The tenant's webhooks that want `event` (only those in `among`, when given)."""
        with store_errors():
            ids = (
                among
                if among is not None
                else [str(i) for i in self.r.zrange(keys.tenant_webhooks(tenant), 0, -1)]
            )
            raws = self.r.mget([keys.webhook(i) for i in ids]) if ids else []
        out = []
        for raw in raws:
            record = json.loads(raw) if raw else None
            if record and record["tenant"] == tenant and event.value in record["events"]:
                out.append(str(record["webhook_id"]))
        return out

    # ---- deliveries ------------------------------------------------------------------------------

    def enqueue(
        self,
        tenant: str,
        webhook_id: str,
        event: WebhookEvent,
        payload: dict[str, Any],
        now: float | None = None,
    ) -> str:
        """Queue one delivery, due now; the sender signs and sends it."""
        now = time.time() if now is None else now
        delivery_id = uuid.uuid4().hex
        body = {"event": event.value, "delivery_id": delivery_id, "created_at": _ts(now), **payload}
        record = {
            "delivery_id": delivery_id,
            "webhook_id": webhook_id,
            "tenant": tenant,
            "event": event.value,
            "body": json.dumps(body, default=str, separators=(",", ":")),
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "last_status": None,
            "last_error": None,
        }
        with store_errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.set(keys.delivery(delivery_id), json.dumps(record), ex=DELIVERY_RECORD_TTL_S)
            pipe.lpush(keys.webhook_deliveries(webhook_id), delivery_id)
            pipe.ltrim(keys.webhook_deliveries(webhook_id), 0, limits.WEBHOOK_DELIVERIES_KEPT - 1)
            pipe.zadd(keys.DELIVERIES_DUE, {delivery_id: now})
            pipe.execute()
        return delivery_id

    def test(self, tenant: str, webhook_id: str) -> DeliveryAccepted:
        self.record(tenant, webhook_id)
        payload = {"message": "a test delivery from traffic-tool", "webhook_id": webhook_id}
        delivery_id = self.enqueue(tenant, webhook_id, WebhookEvent.TEST, payload)
        return DeliveryAccepted(delivery_id=delivery_id, status="pending")

    def deliveries(self, tenant: str, webhook_id: str, status: str | None = None) -> DeliveryList:
        self.record(tenant, webhook_id)
        with store_errors():
            ids = [str(i) for i in self.r.lrange(keys.webhook_deliveries(webhook_id), 0, -1)]
            raws = self.r.mget([keys.delivery(i) for i in ids]) if ids else []
        views = [delivery_view(json.loads(raw)) for raw in raws if raw]
        return DeliveryList(deliveries=[v for v in views if status is None or v.status == status])


def delivery_view(record: dict[str, Any]) -> DeliveryView:
    return DeliveryView(
        delivery_id=record["delivery_id"],
        event=record["event"],
        status=record["status"],
        attempts=record["attempts"],
        created_at=_ts(record["created_at"]) or datetime.now(UTC),
        next_attempt_at=_ts(record["next_attempt_at"]) if record["status"] == "pending" else None,
        last_status=record["last_status"],
        last_error=record["last_error"],
        payload=json.loads(record["body"]),
    )


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhook_id": record["webhook_id"],
        "url": record["url"],
        "events": record["events"],
        "created_at": _ts(record["created_at"]),
    }
