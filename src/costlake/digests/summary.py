"""What a digest says: per view, the period's totals against the previous period, the top movers by $ and %, the
unit-cost change, the events of the period, and how fresh the data is. Plain data: render.py turns it into text."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from costlake.catalog import Catalog, tenant_rows
from costlake.catalog.metrics import find_metric, read_series
from costlake.catalog.models import Dashboard, Digest, EngineeringEvent, SavedView
from costlake.catalog.sources import list_sources
from costlake.dashboards.views import view_query
from costlake.digests.periods import Period
from costlake.events.service import find_events
from costlake.metrics.units import unit_costs
from costlake.query.engine import CostReader
from costlake.query.health import data_health
from costlake.query.model import CostQuery
from costlake.query.scope import Scope

TOP_MOVERS = 5
DEFAULT_MOVER_DIMENSION = "ServiceName"


@dataclass
class Mover:
    group: str
    currency: str
    before: Decimal
    now: Decimal

    @property
    def change(self) -> Decimal:
        return self.now - self.before

    @property
    def percent(self) -> Decimal | None:
        return None if self.before == 0 else (self.change / abs(self.before) * 100).quantize(Decimal("0.1"))


@dataclass
class ViewSummary:
    name: str
    dimension: str
    totals: dict[str, Decimal]
    previous: dict[str, Decimal]
    movers: list[Mover]
    daily: list[tuple[date, Decimal]]  # the main currency's cost per day, for the chart
    currency: str | None
    unit: tuple[str, str, int] | None = None  # metric name, unit, scale
    unit_now: dict[str, Decimal | None] = field(default_factory=dict)
    unit_before: dict[str, Decimal | None] = field(default_factory=dict)


@dataclass
class Completeness:
    complete: bool
    message: str  # the freshness line, or what the digest waits for


@dataclass
class Summary:
    digest: str
    period: Period
    views: list[ViewSummary]
    events: list[EngineeringEvent]
    freshness: str


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def completeness(reader: CostReader, catalog: Catalog, tenant_id: str, period: Period, interval: timedelta) -> Completeness:
    """Complete when every enabled source has delivered the period's last day (its data reaches the period end)."""
    sources = [source for source in list_sources(catalog, tenant_id) if source.enabled]
    if not sources:
        return Completeness(False, "waiting: the tenant has no enabled billing source")
    end = _moment(period.end).strftime("%Y-%m-%dT%H:%M:%SZ")
    health = data_health(reader, Scope(tenant_id=tenant_id), sources, interval)
    late = [entry for entry in health if (entry.freshness or "") < end]
    if late:
        names = ", ".join(f"{entry.source.name} (data through {entry.freshness or 'nothing yet'})" for entry in late)
        return Completeness(False, f"waiting for complete data through {period.end.isoformat()}: {names}")
    oldest = min(entry.freshness or "" for entry in health)
    return Completeness(True, f"data complete through {oldest} across {len(health)} billing source(s)")


def _ranged(query: CostQuery, period: Period, **changes: object) -> CostQuery:
    return query.model_copy(update={"start": period.start, "end": period.end, "time_basis": "charge", "top": None, **changes})


def _totals(reader: CostReader, query: CostQuery, scope: Scope) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in reader.costs(query, scope).rows:
        totals[row.currency] += row.cost
    return dict(totals)


def summarize_view(reader: CostReader, catalog: Catalog, tenant_id: str, view: SavedView, period: Period) -> ViewSummary:
    scope = Scope(tenant_id=tenant_id)
    base = view_query(view, period.end)
    dimension = base.group_by[0] if base.group_by else DEFAULT_MOVER_DIMENSION
    by_group = {}
    for which in (period, period.previous):
        query = _ranged(base, which, granularity="none", group_by=[dimension])
        rows_ = reader.costs(query, scope).rows
        by_group[which.key] = {(str(row.groups[0]), row.currency): row.cost for row in rows_}
    now, before = by_group[period.key], by_group[period.previous.key]
    movers = [Mover(group, currency, before.get((group, currency), Decimal(0)), now.get((group, currency), Decimal(0)))
              for group, currency in set(now) | set(before)]
    movers = sorted((m for m in movers if m.change), key=lambda m: (-abs(m.change), m.group))[:TOP_MOVERS]
    totals = _totals(reader, _ranged(base, period, granularity="none", group_by=[]), scope)
    previous = _totals(reader, _ranged(base, period.previous, granularity="none", group_by=[]), scope)
    currency = max(totals, key=lambda c: abs(totals[c])) if totals else None
    daily_rows = reader.costs(_ranged(base, period, granularity="day", group_by=[]), scope).rows
    daily = sorted((date.fromisoformat(row.period), row.cost) for row in daily_rows if row.currency == currency and row.period)
    summary = ViewSummary(view.name, dimension, totals, previous, movers, daily, currency)
    metric = find_metric(catalog, tenant_id, base.unit_metric) if base.unit_metric else None
    if metric is not None:
        summary.unit = (metric.name, metric.unit, base.unit_scale)
        for which, target in ((period, summary.unit_now), (period.previous, summary.unit_before)):
            query = _ranged(base, which, granularity="none", group_by=[])
            units = unit_costs(query, reader.costs(query, scope).rows, read_series(catalog, metric.id, which.start, which.end), metric.aggregation)
            target.update(units.totals)
    return summary


def digest_views(catalog: Catalog, digest: Digest) -> list[SavedView]:
    if digest.view_id:
        return [tenant_rows.get_row(catalog, SavedView, digest.tenant_id, digest.view_id)]
    dashboard = tenant_rows.get_row(catalog, Dashboard, digest.tenant_id, digest.dashboard_id or "")
    return [tenant_rows.get_row(catalog, SavedView, digest.tenant_id, widget["view_id"]) for widget in dashboard.widgets if widget["type"] == "view"]


def summarize(reader: CostReader, catalog: Catalog, digest: Digest, period: Period, freshness: str) -> Summary:
    views = digest_views(catalog, digest)
    overlay_labels: list[tuple[str, str]] = []
    for view in views[:1]:
        overlay_labels = sorted((view.events_overlay or {}).get("labels", {}).items())
    events = find_events(catalog, digest.tenant_id, _moment(period.start), _moment(period.end), overlay_labels)
    return Summary(digest.name, period, [summarize_view(reader, catalog, digest.tenant_id, view, period) for view in views], events, freshness)
