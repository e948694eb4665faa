"""Bodies of /events and /webhooks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from costlake.api.schemas import UtcDatetime
from costlake.catalog.models import EngineeringEvent, Webhook

Category = Literal["deploy", "incident", "release", "purchase", "provider", "business", "other"]
LabelText = Annotated[str, Field(max_length=500)]


class EventIn(BaseModel):
    """One moment (`timestamp`) or a span (`start` and optional `end`), in ISO 8601 with a time zone."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=500)]
    timestamp: AwareDatetime | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    category: Category = "other"
    source: Annotated[str, Field(max_length=100)] | None = None
    labels: Annotated[dict[Annotated[str, Field(min_length=1, max_length=100)], LabelText], Field(max_length=20)] = Field(
        default_factory=dict, description="service, team, environment, ...: shown on charts filtered by the same labels"
    )
    url: Annotated[str, Field(max_length=2000)] | None = None


class EventOut(BaseModel):
    id: str
    title: str
    category: str
    source: str | None
    start: UtcDatetime
    end: UtcDatetime | None
    labels: dict[str, str]
    url: str | None
    webhook_id: str | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, event: EngineeringEvent) -> EventOut:
        return cls(
            id=event.id, title=event.title, category=event.category, source=event.source, start=event.starts_at, end=event.ends_at,
            labels=event.labels, url=event.url, webhook_id=event.webhook_id, created_at=event.created_at,
        )


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["github", "pagerduty", "generic"]
    name: Annotated[str, Field(max_length=200)] | None = None


class WebhookSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: Annotated[str, Field(min_length=16, max_length=512, description="The signing secret the provider issued (write-only)")]


class WebhookOut(BaseModel):
    id: str
    kind: str
    name: str | None
    url: str = Field(description="The inbound path to give the provider (prefix it with this server's address)")
    created_at: UtcDatetime
    last_received_at: UtcDatetime | None

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(
            id=webhook.id, kind=webhook.kind, name=webhook.name, url=inbound_path(webhook.id),
            created_at=webhook.created_at, last_received_at=webhook.last_received_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: give it to the provider as the webhook's signing secret")


class Received(BaseModel):
    events: list[str] = Field(description="Ids of the events recorded or updated")
    ignored: str | None = Field(description="Why a delivery that carries no event was not recorded")


def inbound_path(webhook_id: str) -> str:
    return f"/api/v1/hooks/{webhook_id}"
