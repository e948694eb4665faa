"""Why a series moved: the values of other dimensions that carry the change, and how much of it is volume
(more consumed) versus rate (a higher effective unit cost).

The baseline of a value on an anomaly day is its mean over the (up to) four same weekdays before the anomaly
began, so a value's weekly pattern does not count as change. Values are ranked by their $ delta in the anomaly's
direction, each dimension keeping its own top values. A dimension with a single value in the series (its only
region, its only team) explains everything and therefore nothing: it is listed after the ones that discriminate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from costlake.alerts.series import SOURCE
from costlake.query.engine import CostReader
from costlake.query.model import CostQuery, Filter
from costlake.query.scope import Scope

DIMENSIONS = ("ServiceName", "SubAccountId", "RegionId", "SkuId", "ResourceId")
TAG_KEYS = 3  # the tag keys with the widest cost coverage also compete
TAG_MIN_COVERAGE = 0.1
BASELINE_WEEKS = 4
PER_DIMENSION = 3
KEEP = 10
CENT = Decimal("0.01")


class _QuantityQuery(CostQuery):
    """Consumed quantities per group, for the volume/rate split only. The explorer's metrics stay money; SKUs are
    grouped so units never mix."""

    metric: Literal["ConsumedQuantity"] = "ConsumedQuantity"


@dataclass
class RootCauses:
    causes: list[dict[str, Any]]
    drivers: dict[str, str]


def series_filters(series: dict[str, Any]) -> list[Filter]:
    """The filters that select one series of a monitor."""
    return [
        Filter(dimension=dimension, op="missing") if value is None else Filter(dimension=dimension, op="eq", values=[str(value)])
        for dimension, value in series.items()
    ]


def baseline_days(start: date, last: date) -> dict[date, list[date]]:
    """For each anomaly day, the same weekdays before `start` it is compared with."""
    out = {}
    day = start
    while day <= last:
        weeks_back = (day - start).days // 7 + 1
        out[day] = [day - timedelta(days=7 * (weeks_back + k)) for k in range(BASELINE_WEEKS)]
        day += timedelta(days=1)
    return out


def _deltas(daily: dict[tuple[Any, date], Decimal], days: dict[date, list[date]]) -> dict[Any, tuple[Decimal, Decimal]]:
    """Per value: (actual over the anomaly days, baseline over the same days)."""
    values = {value for value, _ in daily}
    out = {}
    for value in values:
        actual = sum((daily.get((value, day), Decimal(0)) for day in days), Decimal(0))
        baseline = sum(
            (sum((daily.get((value, before), Decimal(0)) for before in befores), Decimal(0)) / len(befores) for befores in days.values()),
            Decimal(0),
        )
        out[value] = (actual, baseline)
    return out


def explain(
    reader: CostReader,
    scope: Scope,
    *,
    filters: Sequence[Filter],
    split_by: Sequence[str],
    series: dict[str, Any],
    currency: str,
    metric: str,
    start: date,
    last: date,
    direction: str,
) -> RootCauses:
    days = baseline_days(start, last)
    first = min(min(befores) for befores in days.values())
    scoped = [*filters, *series_filters(series)]
    tags = [f"tag:{key}" for key, coverage in reader.tag_coverage(scope)[:TAG_KEYS] if coverage >= TAG_MIN_COVERAGE]
    dimensions = [d for d in (*DIMENSIONS, *tags) if d not in split_by and d != SOURCE]
    per_dimension: dict[str, dict[tuple[Any, date], Decimal]] = {d: defaultdict(Decimal) for d in dimensions}
    for chunk in (dimensions[i : i + 3] for i in range(0, len(dimensions), 3)):
        query = CostQuery(metric=metric, start=first, end=last + timedelta(days=1), granularity="day", group_by=chunk, filters=scoped)
        rows, _ = reader.costs(query, scope)
        for row in rows:
            if row.currency != currency or row.period is None:
                continue
            day = date.fromisoformat(row.period)
            for dimension, value in zip(chunk, row.groups):
                per_dimension[dimension][(value, day)] += row.cost
    sign = Decimal(1) if direction == "increase" else Decimal(-1)
    total = sum((actual - baseline for actual, baseline in _deltas(next(iter(per_dimension.values()), {}), days).values()), Decimal(0))
    causes: list[dict[str, Any]] = []
    sku_totals: dict[Any, tuple[Decimal, Decimal]] = {}
    for dimension, daily in per_dimension.items():
        deltas = _deltas(daily, days)
        if dimension == "SkuId":
            sku_totals = deltas
        ranked = sorted(
            ((value, actual - baseline) for value, (actual, baseline) in deltas.items() if value is not None and sign * (actual - baseline) > 0),
            key=lambda item: sign * item[1],
            reverse=True,
        )
        alone = len(deltas) == 1
        for value, delta in ranked[:PER_DIMENSION]:
            share = (delta / total * 100).quantize(Decimal("0.1")) if total else None
            causes.append({"dimension": dimension, "value": str(value), "delta": delta.quantize(CENT), "share": share, "alone": alone})
    order = {dimension: index for index, dimension in enumerate(dimensions)}
    causes.sort(key=lambda cause: (cause.pop("alone"), -sign * cause["delta"], order[cause["dimension"]]))
    drivers = _volume_rate(reader, scope, scoped, currency, first, last, days, sku_totals) if "SkuId" in dimensions else {}
    return RootCauses(causes[:KEEP], drivers)


def _volume_rate(
    reader: CostReader, scope: Scope, scoped: list[Filter], currency: str, first: date, last: date,
    days: dict[date, list[date]], costs: dict[Any, tuple[Decimal, Decimal]],
) -> dict[str, str]:
    """Split the change into volume ((q1 - q0) x baseline unit cost), rate (the rest, per SKU) and other (SKUs
    without quantities, or new or gone SKUs). The three add up to the change, to the cent."""
    query = _QuantityQuery(start=first, end=last + timedelta(days=1), granularity="day", group_by=["SkuId"], filters=scoped)
    rows, _ = reader.costs(query, scope)
    quantities: dict[tuple[Any, date], Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.currency == currency and row.period is not None and row.cost is not None:
            quantities[(row.groups[0], date.fromisoformat(row.period))] += row.cost
    if not quantities:
        return {}
    used = _deltas(quantities, days)
    volume = rate = other = Decimal(0)
    for sku, (cost_now, cost_before) in costs.items():
        q_now, q_before = used.get(sku, (Decimal(0), Decimal(0)))
        change = cost_now - cost_before
        if sku is None or q_now <= 0 or q_before <= 0 or cost_before == 0:
            other += change
            continue
        sku_volume = ((q_now - q_before) * cost_before / q_before).quantize(CENT)
        volume += sku_volume
        rate += change - sku_volume
    return {"volume": str(volume), "rate": str(rate.quantize(CENT)), "other": str(other.quantize(CENT))}
