"""/api/v1/tenants/{tenant_id}/events and /webhooks: events are posted and read by admins and members (a CI job
with a member token can mark its deploys); webhooks and deleting events are for admins."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from costlake.api.auth import ServicesDep, TenantDep, admins_only
from costlake.api.responses import answers
from costlake.api.schemas_events import Category, EventIn, EventOut, WebhookCreated, WebhookIn, WebhookOut, WebhookSecretIn
from costlake.catalog import events as event_rows
from costlake.catalog.models import Tenant
from costlake.errors import InvalidInput
from costlake.events.service import EventDraft, find_events, parse_label_filters, record
from costlake.events.webhooks import create_webhook, replace_secret

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["events"])
AdminDep = Annotated[Tenant, admins_only("webhooks and event removal")]


def _moment(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


@router.post("/events", response_model=EventOut, status_code=201, responses=answers(404, 422))
def create_event(body: EventIn, tenant: TenantDep, services: ServicesDep) -> EventOut:
    start = body.timestamp or body.start
    if start is None or (body.timestamp and (body.start or body.end)):
        raise InvalidInput("timestamp", "give timestamp, or start (and optionally end), not both")
    draft = EventDraft(
        title=body.title, category=body.category, starts_at=start, ends_at=body.end, source=body.source, labels=body.labels, url=body.url
    )
    event, _ = record(services.catalog, tenant.id, draft)
    return EventOut.of(event)


@router.get("/events", response_model=list[EventOut], responses=answers(404, 422))
def list_events(
    tenant: TenantDep,
    services: ServicesDep,
    start: Annotated[date | None, Query(description="First day (UTC)")] = None,
    end: Annotated[date | None, Query(description="Day after the last (exclusive)")] = None,
    label: Annotated[list[str] | None, Query(description="KEY:VALUE, repeatable (all must match)")] = None,
    category: Annotated[Category | None, Query()] = None,
) -> list[EventOut]:
    """Events that overlap [start, end), oldest first."""
    events = find_events(services.catalog, tenant.id, _moment(start), _moment(end), parse_label_filters(label or []), category)
    return [EventOut.of(event) for event in events]


@router.get("/events/{event_id}", response_model=EventOut, responses=answers(404))
def get_event(event_id: str, tenant: TenantDep, services: ServicesDep) -> EventOut:
    return EventOut.of(event_rows.get_event(services.catalog, tenant.id, event_id))


@router.delete("/events/{event_id}", status_code=204, response_class=Response, responses=answers(403, 404))
def delete_event(event_id: str, tenant: AdminDep, services: ServicesDep) -> Response:
    event_rows.delete_event(services.catalog, tenant.id, event_id)
    return Response(status_code=204)


@router.post("/webhooks", response_model=WebhookCreated, status_code=201, responses=answers(403, 404, 422))
def add_webhook(body: WebhookIn, tenant: AdminDep, services: ServicesDep) -> WebhookCreated:
    """A new inbound endpoint; its secret is in this answer only."""
    webhook, secret = create_webhook(services.catalog, services.settings, tenant.id, body.kind, body.name)
    return WebhookCreated(**WebhookOut.of(webhook).model_dump(), secret=secret)


@router.put("/webhooks/{webhook_id}/secret", response_model=WebhookOut, responses=answers(403, 404, 422))
def set_webhook_secret(webhook_id: str, body: WebhookSecretIn, tenant: AdminDep, services: ServicesDep) -> WebhookOut:
    """Verify deliveries with the secret the provider issued (PagerDuty makes its own) or a rotated one; write-only."""
    return WebhookOut.of(replace_secret(services.catalog, services.settings, tenant.id, webhook_id, body.secret))


@router.get("/webhooks", response_model=list[WebhookOut], responses=answers(403, 404))
def list_webhooks(tenant: AdminDep, services: ServicesDep) -> list[WebhookOut]:
    return [WebhookOut.of(webhook) for webhook in event_rows.list_webhooks(services.catalog, tenant.id)]


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response, responses=answers(403, 404))
def delete_webhook(webhook_id: str, tenant: AdminDep, services: ServicesDep) -> Response:
    event_rows.delete_webhook(services.catalog, tenant.id, webhook_id)
    return Response(status_code=204)
