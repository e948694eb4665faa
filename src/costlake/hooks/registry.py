"""Which handlers run after a commit. A feature that reacts to new data adds one line to DEFAULT_HANDLERS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from costlake.alerts.evaluation import after_sync as alerts_after_sync
from costlake.allocation import suggestions
from costlake.catalog import Catalog
from costlake.hooks.events import Event, SourceRemoved, SyncCommitted
from costlake.settings import Settings
from costlake.store import Lake


@dataclass(frozen=True)
class HookContext:
    """What a handler may use: the catalog and the tenant tables, with the server's settings."""

    settings: Settings
    catalog: Catalog
    lake: Lake


@dataclass(frozen=True)
class Handler:
    name: str  # stable: deliveries are stored under it
    events: tuple[str, ...]  # the event kinds it listens to (SyncCommitted.kind, ...)
    run: Callable[[Event, HookContext], None]  # raises to be retried later


def _evaluate_alerts(event: Event, context: HookContext) -> None:
    alerts_after_sync(context.catalog, event.tenant_id)


DEFAULT_HANDLERS: tuple[Handler, ...] = (
    Handler("alerts", (SyncCommitted.kind,), _evaluate_alerts),  # costlake.alerts: evaluate the tenant's alerts
    # Detected tag key and value variants, ready for GET .../tags/suggestions (costlake.allocation).
    Handler(
        "tag-suggestions",
        (SyncCommitted.kind, SourceRemoved.kind),
        lambda event, context: suggestions.refresh(event.tenant_id, context.settings, context.catalog, context.lake),
    ),
)
