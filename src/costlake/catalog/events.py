"""Engineering events and inbound webhooks as rows. What an event may hold is checked in costlake.events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from costlake.catalog.database import Catalog
from costlake.catalog.models import EngineeringEvent, Webhook, utcnow
from costlake.errors import NotFound

MAX_LISTED = 5000


def insert_event(catalog: Catalog, event: EngineeringEvent) -> tuple[EngineeringEvent, bool]:
    """Store the event; one with the same external id (a webhook redelivery) is kept once: (event, created)."""
    try:
        with catalog.session() as session:
            session.add(event)
    except IntegrityError:
        existing = find_external(catalog, event.tenant_id, event.external_id or "")
        if existing is None:
            raise
        return existing, False
    return event, True


def find_external(catalog: Catalog, tenant_id: str, external_id: str) -> EngineeringEvent | None:
    with catalog.session() as session:
        query = select(EngineeringEvent).where(EngineeringEvent.tenant_id == tenant_id, EngineeringEvent.external_id == external_id)
        return session.scalars(query).first()


def update_event(catalog: Catalog, event_id: str, changes: dict[str, Any]) -> EngineeringEvent:
    with catalog.session() as session:
        event = session.get_one(EngineeringEvent, event_id)
        for field, value in changes.items():
            setattr(event, field, value)
        return event


def get_event(catalog: Catalog, tenant_id: str, event_id: str) -> EngineeringEvent:
    with catalog.session() as session:
        event = session.get(EngineeringEvent, event_id)
    if event is None or event.tenant_id != tenant_id:
        raise NotFound(f"no event {event_id!r} in this tenant")
    return event


def delete_event(catalog: Catalog, tenant_id: str, event_id: str) -> None:
    get_event(catalog, tenant_id, event_id)
    with catalog.session() as session:
        session.delete(session.get_one(EngineeringEvent, event_id))


def list_events(catalog: Catalog, tenant_id: str, start: datetime | None, end: datetime | None, category: str | None = None) -> list[EngineeringEvent]:
    """Events that overlap [start, end), oldest first (label filters are applied by the caller)."""
    query = select(EngineeringEvent).where(EngineeringEvent.tenant_id == tenant_id)
    if end is not None:
        query = query.where(EngineeringEvent.starts_at < end)
    if start is not None:
        query = query.where(
            or_(EngineeringEvent.starts_at >= start, and_(EngineeringEvent.ends_at.is_not(None), EngineeringEvent.ends_at >= start))
        )
    if category is not None:
        query = query.where(EngineeringEvent.category == category)
    with catalog.session() as session:
        return list(session.scalars(query.order_by(EngineeringEvent.starts_at, EngineeringEvent.id).limit(MAX_LISTED)))


def insert_webhook(catalog: Catalog, webhook: Webhook) -> Webhook:
    with catalog.session() as session:
        session.add(webhook)
    return webhook


def list_webhooks(catalog: Catalog, tenant_id: str) -> list[Webhook]:
    with catalog.session() as session:
        return list(session.scalars(select(Webhook).where(Webhook.tenant_id == tenant_id).order_by(Webhook.created_at)))


def find_webhook(catalog: Catalog, webhook_id: str) -> Webhook | None:
    with catalog.session() as session:
        return session.get(Webhook, webhook_id)


def get_webhook(catalog: Catalog, tenant_id: str, webhook_id: str) -> Webhook:
    webhook = find_webhook(catalog, webhook_id)
    if webhook is None or webhook.tenant_id != tenant_id:
        raise NotFound(f"no webhook {webhook_id!r} in this tenant")
    return webhook


def delete_webhook(catalog: Catalog, tenant_id: str, webhook_id: str) -> None:
    get_webhook(catalog, tenant_id, webhook_id)
    with catalog.session() as session:
        session.delete(session.get_one(Webhook, webhook_id))


def set_webhook_secret(catalog: Catalog, tenant_id: str, webhook_id: str, secret: dict[str, str]) -> Webhook:
    get_webhook(catalog, tenant_id, webhook_id)
    with catalog.session() as session:
        webhook = session.get_one(Webhook, webhook_id)
        webhook.secret = secret
    return webhook


def touch_webhook(catalog: Catalog, webhook_id: str) -> None:
    with catalog.session() as session:
        session.get_one(Webhook, webhook_id).last_received_at = utcnow()
