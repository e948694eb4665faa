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
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, cast

import pyarrow as pa
from pydantic import Field

from costlake.alerts.series import SOURCE
from costlake.alerts.specs import MAX_SPLIT
from costlake.query.engine import CostReader
from costlake.query.model import CostQuery, Filter
from costlake.query.scope import Scope

DIMENSIONS = ("ServiceName", "SubAccountId", "RegionId", "SkuId", "ResourceId")
TAG_KEYS = 3  # the tag keys with the widest cost coverage also compete
TAG_MIN_COVERAGE = 0.1
BASELINE_WEEKS = 4
PER_DIMENSION = 3
KEEP = 10
CHUNK = 3  # root-cause dimensions per query
CENT = Decimal("0.01")


Measure = Literal["EffectiveCost", "BilledCost", "ListCost", "ContractedCost", "ConsumedQuantity"]


class _BreakdownQuery(CostQuery):
    """Internal: the split dimensions plus up to CHUNK root-cause dimensions in one query, so a monitor's anomalies
    are explained by a handful of queries whatever their number; and consumed quantities per SKU for the
    volume/rate split (SKUs are grouped, so units never mix). The explorer's own limits stay as they are."""

    group_by: list[Annotated[str, Field(min_length=1, max_length=260)]] = Field(default_factory=list, max_length=MAX_SPLIT + CHUNK)
    metric: Measure = "EffectiveCost"


@dataclass(frozen=True)
class Subject:
    """An anomaly to explain: a series of the monitor, its currency, days and direction."""

    series: dict[str, Any]
    currency: str
    start: date
    last: date
    direction: str


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


def _breakdown(
    reader: CostReader, scope: Scope, filters: list[Filter], split_by: Sequence[str], dimensions: Sequence[str], metric: str,
    subjects: Sequence[Subject], first: date, last: date,
) -> list[dict[str, dict[tuple[Any, date], Decimal]]]:
    """Per subject, per dimension: {(value, day): amount}, from one query per CHUNK dimensions."""
    # Select the subjects' series: an `in` per split dimension (other combinations are dropped below).
    narrowing = []
    for dimension in split_by:
        values = {subject.series.get(dimension) for subject in subjects}
        if None not in values:
            narrowing.append(Filter(dimension=dimension, op="in", values=sorted(str(v) for v in values)))
    index = {(tuple(subject.series.get(d) for d in split_by), subject.currency): n for n, subject in enumerate(subjects)}
    out: list[dict[str, dict[tuple[Any, date], Decimal]]] = [{d: defaultdict(Decimal) for d in dimensions} for _ in subjects]
    for chunk in (list(dimensions[i : i + CHUNK]) for i in range(0, len(dimensions), CHUNK)):
        query = _BreakdownQuery(
            metric=cast(Measure, metric), start=first, end=last + timedelta(days=1), granularity="day",
            group_by=[*split_by, *chunk], filters=[*filters, *narrowing],
        )
        table = reader.costs_table(query, scope)
        if table is None:
            continue
        width = len(split_by)
        names = ["period", *(f"g{i}" for i in range(width + len(chunk))), "currency", "cost"]
        table = table.select(list(range(len(names)))).rename_columns(names)
        if narrowing and len(narrowing) == width:  # keep the subjects' own series: `in` filters select every combination
            wanted = {f"g{i}": [str(s.series[d]) for s in subjects] for i, d in enumerate(split_by)}
            keys = [*wanted, "currency"]
            table = table.join(pa.table(wanted | {"currency": [s.currency for s in subjects]}), keys=keys, join_type="inner")
        columns = [table.column(name).to_pylist() for name in names]
        for day, *groups, currency, cost in zip(*columns):
            target = index.get((tuple(groups[:width]), currency))
            if target is None or day is None or cost is None:
                continue
            for dimension, value in zip(chunk, groups[width:]):
                out[target][dimension][(value, day)] += cost
    return out


class TagKeys:
    """The tag keys that compete as root causes: the TAG_KEYS keys with the widest cost coverage. Coverage scans
    every row's tags, and the widest keys hardly change from one sync to the next: a worker keeps them for a day."""

    def __init__(self, keep: timedelta = timedelta(hours=24)) -> None:
        self.keep = keep
        self._known: dict[Scope, tuple[datetime, list[str]]] = {}

    def __call__(self, reader: CostReader, scope: Scope) -> list[str]:
        now = datetime.now(UTC)
        known = self._known.get(scope)
        if known is None or now - known[0] > self.keep:
            keys = [f"tag:{key}" for key, coverage in reader.tag_coverage(scope)[:TAG_KEYS] if coverage >= TAG_MIN_COVERAGE]
            known = self._known[scope] = (now, keys)
        return known[1]


def explain_all(
    reader: CostReader, scope: Scope, *, filters: Sequence[Filter], split_by: Sequence[str], metric: str, subjects: Sequence[Subject],
    tag_keys: TagKeys,
) -> list[RootCauses]:
    """Root causes and volume/rate drivers of each subject (a monitor's anomalies), in a few queries."""
    if not subjects:
        return []
    days_of = [baseline_days(subject.start, subject.last) for subject in subjects]
    first = min(min(min(befores) for befores in days.values()) for days in days_of)
    last = max(subject.last for subject in subjects)
    tags = tag_keys(reader, scope)
    dimensions = [d for d in (*DIMENSIONS, *tags) if d not in split_by and d != SOURCE]
    filters = list(filters)
    amounts = _breakdown(reader, scope, filters, split_by, dimensions, metric, subjects, first, last)
    quantities = (
        _breakdown(reader, scope, filters, split_by, ["SkuId"], "ConsumedQuantity", subjects, first, last) if "SkuId" in dimensions else None
    )
    return [
        _rank(subject, days, per_dimension, dimensions, quantities[n]["SkuId"] if quantities else None)
        for n, (subject, days, per_dimension) in enumerate(zip(subjects, days_of, amounts))
    ]


def _rank(
    subject: Subject, days: dict[date, list[date]], per_dimension: dict[str, dict[tuple[Any, date], Decimal]], dimensions: Sequence[str],
    quantities: dict[tuple[Any, date], Decimal] | None,
) -> RootCauses:
    sign = Decimal(1) if subject.direction == "increase" else Decimal(-1)
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
    causes.sort(key=lambda cause: (cause["alone"], -sign * cause["delta"], order[cause["dimension"]]))
    for cause in causes:
        del cause["alone"]
    drivers = _volume_rate(days, sku_totals, quantities) if quantities else {}
    return RootCauses(causes[:KEEP], drivers)


def _volume_rate(
    days: dict[date, list[date]], costs: dict[Any, tuple[Decimal, Decimal]], quantities: dict[tuple[Any, date], Decimal]
) -> dict[str, str]:
    """Split the change into volume ((q1 - q0) x baseline unit cost), rate (the rest, per SKU) and other (SKUs
    without quantities, or new or gone SKUs). The three add up to the change, to the cent."""
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
