"""Daily cost series from the query engine, and how far each can be trusted (data completeness).

Series come from `CostQuery` with the monitor's or budget's own filters: the explorer's allowlists, bound
parameters and dimensions (tag:, dim:) apply unchanged. A series is one combination of the split dimensions, in
one currency; its days are UTC charge days.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from costlake.catalog.models import BillingSource
from costlake.errors import CostlakeError
from costlake.formats import registry
from costlake.query.engine import CostReader
from costlake.query.model import CostQuery, Filter
from costlake.query.scope import Scope

NON_USAGE = ["Tax", "Credit", "Adjustment", "Purchase"]
SOURCE = "source"
STALE_AFTER = {"export": timedelta(hours=36), "api": timedelta(hours=48)}  # data older than this: the source is late


def tenant_scope(tenant_id: str) -> Scope:
    """The scope evaluations read with: the whole tenant, as its admins see it."""
    return Scope(tenant_id=tenant_id)


def usage_filters(filters: Sequence[Filter], include_non_usage: bool) -> list[Filter]:
    if include_non_usage:
        return list(filters)
    return [*filters, Filter(dimension="ChargeCategory", op="not_in", values=NON_USAGE)]


def series_key(series: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(series, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Series:
    series: dict[str, Any]  # split dimension -> value
    currency: str
    values: dict[date, Decimal] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return series_key(self.series)

    @property
    def first_day(self) -> date:
        return min(self.values)


def daily_series(
    reader: CostReader, scope: Scope, *, filters: Sequence[Filter], split_by: Sequence[str], metric: str, start: date, end: date
) -> list[Series]:
    """Every series' daily amounts over [start, end), with the sources that fed it."""
    query = CostQuery(
        metric=metric, start=start, end=end, granularity="day", group_by=[*split_by, SOURCE], filters=list(filters)
    )
    table = reader.costs_table(query, scope)
    if table is None:
        return []
    width = len(split_by)
    # Column-wise to Python values (fast), then one pass: no object per row beyond the tuple zip makes.
    columns = [table.column(i).to_pylist() for i in range(width + 4)]  # period, groups..., source, currency, cost
    found: dict[tuple[Any, ...], Series] = {}
    for period, *groups, source, currency, cost in zip(*columns):
        if period is None or currency is None or cost is None:
            continue
        key = (*groups, currency)
        entry = found.get(key)
        if entry is None:
            entry = found[key] = Series(dict(zip(split_by, groups)), currency)
        values = entry.values
        values[period] = values[period] + cost if period in values else cost
        entry.sources.add(source)
    return list(found.values())


@dataclass(frozen=True)
class SourceState:
    complete_through: date | None  # the last day whose data the source delivered in full
    incomplete: str | None  # why its newest data cannot be trusted yet, if so
    latest: datetime | None  # latest ChargePeriodEnd stored


def source_states(reader: CostReader, scope: Scope, sources: Sequence[BillingSource]) -> dict[str, SourceState]:
    """Per source: the last complete day and whether it is still syncing or failing.

    The newest day a source holds is taken as partial (providers keep adding to today's and yesterday's rows), so
    a source is complete through the day before. A source that is syncing or whose last run failed is also marked,
    so series fed by it say "data incomplete".
    """
    latest: dict[str, datetime] = {}
    for source_id, _month, _currency, _rows, _billed, end in reader.months_by_source(scope):
        if end:
            moment = datetime.fromisoformat(end.replace("Z", "+00:00"))
            latest[source_id] = max(latest.get(source_id, moment), moment)
    states = {}
    for source in sources:
        end = latest.get(source.id)
        through = (end - timedelta(microseconds=1)).date() - timedelta(days=1) if end else None
        reason = None
        if source.last_status in ("queued", "running"):
            reason = f"source {source.name!r} is syncing"
        elif source.last_status == "failed":
            reason = f"the last sync of source {source.name!r} failed"
        states[source.id] = SourceState(through, reason, end)
    return states


def horizon_of(series: Series, states: dict[str, SourceState]) -> tuple[date | None, list[str]]:
    """The last day every source of the series delivered in full, and why the series is incomplete (if it is)."""
    days = [states[s].complete_through for s in series.sources if s in states]
    reasons = sorted({reason for s in series.sources if s in states and (reason := states[s].incomplete)})
    known = [day for day in days if day is not None]
    return (min(known) if known else None), reasons


def stale_after(source: BillingSource) -> timedelta | None:
    """How late a source's data may be before it counts as stale: 36 h for exports, 48 h for vendor APIs."""
    try:
        kind = registry.kind_of(source.provider, source.format)
    except CostlakeError:
        return None
    return STALE_AFTER.get(kind.kind)
