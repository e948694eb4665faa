"""Unit costs: a cost query's rows divided by a metric, as a step after the query (the query layer is unchanged).

For each row, the metric's value for the row's period is the metric summed over its labels, except the labels that
name one of the query's group_by dimensions: there the row's own group value picks the metric's values (cost per
request *of team payments*). Filters on a dimension the metric is labelled with filter the metric too. Days combine
into the period by the metric's aggregation (sum, avg, max). A period or group without a metric value, or with a
value of zero, gets no unit cost (null): a gap, never zero or infinity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any

from costlake.catalog import Catalog
from costlake.catalog.metrics import find_metric, read_series
from costlake.errors import InvalidInput
from costlake.metrics.labels import label_dimension
from costlake.query.engine import CostRow
from costlake.query.model import CostQuery, Filter
from costlake.text import decimal_text

SIGNIFICANT_DIGITS = 12  # a ratio is not money: rounded, half-even, to this many significant digits

Series = Iterable[tuple[date, dict[str, str], Decimal]]


@dataclass
class UnitCosts:
    per_row: list[Decimal | None]
    totals: dict[str, Decimal | None]  # per currency: the whole range's cost ÷ the whole range's metric
    matched: list[str]  # the group_by dimensions the metric's labels matched


def period_of(day: date, query: CostQuery) -> str | None:
    """The period key a day falls in, as the cost rows show it."""
    if query.granularity == "none":
        return None
    if query.granularity == "month" or query.time_basis == "billing":
        return day.replace(day=1).isoformat()
    if query.granularity == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()


def _keep(labels: dict[str, str], filters: list[Filter]) -> bool:
    for condition in filters:
        value = labels.get(condition.dimension)
        if condition.op == "missing":
            ok = value is None
        elif condition.op == "eq":
            ok = value == condition.values[0]
        elif condition.op == "ne":
            ok = value != condition.values[0]
        elif condition.op == "in":
            ok = value in condition.values
        elif condition.op == "not_in":
            ok = value not in condition.values
        else:
            ok = value is not None and any(part.lower() in value.lower() for part in condition.values)
        if not ok:
            return False
    return True


def _aggregate(days: dict[date, Decimal], aggregation: str) -> Decimal:
    if aggregation == "max":
        return max(days.values())
    total = sum(days.values(), Decimal(0))
    return total / len(days) if aggregation == "avg" else total


def _ratio(cost: Decimal, value: Decimal | None, scale: int) -> Decimal | None:
    if value is None or value == 0:
        return None
    with localcontext() as context:
        context.prec = 40
        exact = cost * scale / value
        context.prec = SIGNIFICANT_DIGITS
        return +exact


def unit_costs(query: CostQuery, rows: list[CostRow], series: Series, aggregation: str) -> UnitCosts:
    values = [(day, {label_dimension(k): v for k, v in labels.items()}, value) for day, labels, value in series]
    dimensions = {dimension for _, labels, _ in values for dimension in labels}
    matched = [i for i, dimension in enumerate(query.group_by) if dimension in dimensions]
    filters = [f for f in query.filters if f.dimension in dimensions]
    # (period, matched group values) -> day -> the day's value summed over the other labels
    daily: dict[tuple[str | None, tuple[str | None, ...]], dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    whole: dict[date, Decimal] = defaultdict(Decimal)
    for day, labels, value in values:
        if not _keep(labels, filters):
            continue
        daily[(period_of(day, query), tuple(labels.get(query.group_by[i]) for i in matched))][day] += value
        whole[day] += value
    per_period = {key: _aggregate(days, aggregation) for key, days in daily.items()}
    per_row: list[Decimal | None] = []
    for row in rows:
        if row.other and matched:
            per_row.append(None)  # "other" folds many groups: no one metric value stands for it
            continue
        groups = tuple(row.groups[i] for i in matched)
        per_row.append(_ratio(row.cost, per_period.get((row.period, groups)), query.unit_scale))
    costs: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        costs[row.currency] += row.cost
    total_value = _aggregate(whole, aggregation) if whole else None
    totals = {currency: _ratio(cost, total_value, query.unit_scale) for currency, cost in costs.items()}
    return UnitCosts(per_row, totals, [query.group_by[i] for i in matched])


def with_unit_costs(catalog: Catalog, tenant_id: str, query: CostQuery, rows: list[CostRow], out: list[dict[str, Any]]) -> dict[str, Any]:
    """Adds `unit_cost` to each answered row (decimal text or null) and returns the answer's `unit_metric` part."""
    metric = find_metric(catalog, tenant_id, query.unit_metric or "")
    if metric is None:
        raise InvalidInput("unit_metric", f"no metric {query.unit_metric!r} in this tenant; `GET .../metrics` lists them")
    units = unit_costs(query, rows, read_series(catalog, metric.id, query.start, query.end), metric.aggregation)
    for answered, unit in zip(out, units.per_row, strict=True):
        answered["unit_cost"] = None if unit is None else decimal_text(unit)
    return {
        "unit_metric": {
            "name": metric.name, "unit": metric.unit, "aggregation": metric.aggregation, "scale": query.unit_scale,
            "matched_dimensions": units.matched,
        },
        "unit_totals": {currency: None if unit is None else decimal_text(unit) for currency, unit in sorted(units.totals.items())},
    }
