"""Data health: per billing source, how its syncs are going and what the store holds for it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from costlake.catalog.models import BillingSource, utcnow
from costlake.query.engine import CostReader
from costlake.query.scope import Scope


@dataclass
class MonthHealth:
    month: str
    rows: int = 0
    billed_cost: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class SourceHealth:
    source: BillingSource
    stale: bool
    freshness: str | None
    months: list[MonthHealth]


def is_stale(last_success: datetime | None, interval: timedelta, now: datetime) -> bool:
    """Stale: no success yet, or the last one is older than two sync intervals."""
    return last_success is None or now - last_success > 2 * interval


def data_health(reader: CostReader, scope: Scope, sources: list[BillingSource], interval: timedelta) -> list[SourceHealth]:
    months: dict[str, dict[str, MonthHealth]] = defaultdict(dict)
    freshness: dict[str, str] = {}
    for source_id, month, currency, rows, billed, latest in reader.months_by_source(scope):
        entry = months[source_id].setdefault(month, MonthHealth(month))
        entry.rows += rows
        entry.billed_cost[currency or "unknown"] = billed
        if latest and latest > freshness.get(source_id, ""):
            freshness[source_id] = latest
    now = utcnow()
    return [
        SourceHealth(
            source=source,
            stale=is_stale(source.last_success_at, interval, now),
            freshness=freshness.get(source.id),
            months=sorted(months[source.id].values(), key=lambda entry: entry.month),
        )
        for source in sources
    ]
