"""Data health: per billing source, how its syncs are going and what the store holds for it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from costlake.catalog.models import BillingSource, utcnow
from costlake.formats.contract import AUTO, MetadataFormat
from costlake.formats.registry import kind_of
from costlake.months import add_months, month_of
from costlake.query.engine import CostReader
from costlake.query.scope import Scope

# A billing month's rows are expected within this long after the month ends: daily exports and vendor APIs hold the
# current month, and a monthly export of last month is delivered in the first days of the next.
DATA_DUE_AFTER_MONTH_END = timedelta(days=40)


@dataclass
class MonthHealth:
    month: str
    rows: int = 0
    billed_cost: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class SourceHealth:
    source: BillingSource
    stale_reason: str | None
    freshness: str | None
    months: list[MonthHealth]

    @property
    def stale(self) -> bool:
        return self.stale_reason is not None


def _holds_cost_rows(source: BillingSource) -> bool:
    """Metadata sources (e.g. GCP commitments) keep records in the catalog, never cost rows."""
    return source.format == AUTO or not isinstance(kind_of(source.provider, source.format), MetadataFormat)


def is_stale(last_success: datetime | None, interval: timedelta, now: datetime) -> bool:
    """Stale by schedule: no success yet, or the last one is older than two sync intervals."""
    return last_success is None or now - last_success > 2 * interval


def stale_reason(source: BillingSource, newest_month: str | None, interval: timedelta, now: datetime) -> str | None:
    """Why a source is stale, or None. Stale: no sync succeeded yet, the last success is older than two sync
    intervals, or its syncs succeed but the store holds no rows for it, or only rows of months that ended more than
    DATA_DUE_AFTER_MONTH_END ago (an export that stopped, or an old one)."""
    if source.last_success_at is None:
        return "no sync of this source has succeeded yet"
    if is_stale(source.last_success_at, interval, now):
        return "the last successful sync is older than two sync intervals (COSTLAKE_SYNC_INTERVAL)"
    if not _holds_cost_rows(source):
        return None
    if newest_month is None:
        return "its syncs succeed, but the store holds no rows for it: the export holds none for the months synced"
    month_end = datetime.fromisoformat(add_months(newest_month, 1) + "-01T00:00:00+00:00")
    if now - month_end > DATA_DUE_AFTER_MONTH_END:
        return (
            f"its newest billing month with rows is {newest_month}, while a current export holds "
            f"{add_months(month_of(now.date()), -1)} or {month_of(now.date())}: the export stopped, or it is an old one"
        )
    return None


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
            stale_reason=stale_reason(source, max(months[source.id], default=None), interval, now),
            freshness=freshness.get(source.id),
            months=sorted(months[source.id].values(), key=lambda entry: entry.month),
        )
        for source in sources
    ]
