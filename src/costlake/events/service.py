"""Recording and finding events: checked drafts in, rows out; label filters `k:v` match exactly."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from costlake.catalog import Catalog
from costlake.catalog import events as event_rows
from costlake.catalog.models import EngineeringEvent
from costlake.errors import InvalidInput

CATEGORIES = ("deploy", "incident", "release", "purchase", "provider", "business", "other")
MAX_LABELS = 20
CORRELATION_WINDOW = timedelta(hours=48)  # events that started this long before a change are shown with it


@dataclass
class EventDraft:
    title: str
    category: str
    starts_at: datetime
    ends_at: datetime | None = None
    source: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    external_id: str | None = None

    def check(self) -> EventDraft:
        if self.category not in CATEGORIES:
            raise InvalidInput("category", f"category {self.category!r} is not one of {', '.join(CATEGORIES)}")
        if self.starts_at.tzinfo is None or (self.ends_at is not None and self.ends_at.tzinfo is None):
            raise InvalidInput("timestamp", "give times with a time zone, e.g. 2026-11-02T14:00:00Z")
        if self.ends_at is not None and self.ends_at < self.starts_at:
            raise InvalidInput("end", "end is before start")
        if len(self.labels) > MAX_LABELS:
            raise InvalidInput("labels", f"at most {MAX_LABELS} labels")
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise InvalidInput("url", "url must be an http(s) link")
        self.title = self.title.strip()[:500] or "(untitled)"
        return self


def record(catalog: Catalog, tenant_id: str, draft: EventDraft, webhook_id: str | None = None) -> tuple[EngineeringEvent, bool]:
    """Store a checked draft; (event, created): a redelivered webhook event is stored once."""
    draft.check()
    event = EngineeringEvent(
        tenant_id=tenant_id, title=draft.title, category=draft.category, source=draft.source, starts_at=draft.starts_at,
        ends_at=draft.ends_at, labels=draft.labels, url=draft.url, external_id=draft.external_id, webhook_id=webhook_id,
    )
    return event_rows.insert_event(catalog, event)


def parse_label_filters(texts: Iterable[str]) -> list[tuple[str, str]]:
    pairs = []
    for text in texts:
        key, separator, value = text.partition(":")
        if not separator or not key:
            raise InvalidInput("label", f"label filter {text!r}: use KEY:VALUE, e.g. service:checkout")
        pairs.append((key, value))
    return pairs


def matches(event: EngineeringEvent, filters: list[tuple[str, str]]) -> bool:
    return all(event.labels.get(key) == value for key, value in filters)


def find_events(
    catalog: Catalog, tenant_id: str, start: datetime | None, end: datetime | None, labels: list[tuple[str, str]], category: str | None = None
) -> list[EngineeringEvent]:
    return [event for event in event_rows.list_events(catalog, tenant_id, start, end, category) if matches(event, labels)]


def events_before(catalog: Catalog, tenant_id: str, onset: datetime, labels: dict[str, str]) -> list[EngineeringEvent]:
    """Events that started within CORRELATION_WINDOW before `onset` (an anomaly's start) and share its labels: an
    event without a label the change has is kept (it may concern everything), one with a different value is not."""
    candidates = event_rows.list_events(catalog, tenant_id, onset - CORRELATION_WINDOW, onset)
    return [
        event for event in candidates
        if onset - CORRELATION_WINDOW <= event.starts_at <= onset
        and all(event.labels.get(key, value) == value for key, value in labels.items())
    ]
