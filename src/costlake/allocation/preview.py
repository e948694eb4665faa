"""What a draft would move, and how much cost each dimension allocates (coverage).

The rows are read once for every dimension of every plan compared: `agg` holds what any of them needs, each plan
labels it (`p0_lab`, `p1_lab`), and each dimension applies its own splits before grouping by value. Coverage is
the share of cost (absolute EffectiveCost of the allocated groups) not in the fallback bucket.

`agg` is the expensive part when it reads every row of the window. It depends only on what the rules read, not on
their values or order, so it declares those reads: after the first preview of a table version it reads a fold of
the rows (query/folds.py), and a preview after a rule edit only labels and splits those few groups again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from costlake.allocation.compile import CompiledRules, Labels, Needs, TagAccess, Window, aggregate
from costlake.allocation.splits import SplitSql
from costlake.query.engine import CostReader
from costlake.query.model import CostQuery
from costlake.query.scope import Scope
from costlake.query.sql import Params
from costlake.text import money_text


@dataclass
class DimensionTotals:
    values: dict[str, dict[str, Decimal]]  # value -> currency -> cost
    allocated: Decimal  # absolute cost outside the fallback bucket
    total: Decimal

    @property
    def coverage(self) -> float:
        return round(float(self.allocated / self.total), 4) if self.total else 0.0


def totals_by_dimension(reader: CostReader, scope: Scope, plans: list[CompiledRules], start: date, end: date) -> list[dict[str, DimensionTotals]]:
    """For each plan, each of its dimensions' cost per value and currency over [start, end), after its splits."""
    query = CostQuery(start=start, end=end, granularity="none")
    splits = [split for plan in plans for dimension in plan.rules.dimensions for split in dimension.splits]
    needs = Needs()
    for plan in plans:
        needs |= plan.needs(plan.order, [name for name in plan.order if plan.dimension(name).splits])
    tags = TagAccess(needs)
    params = Params()
    window = Window.of(query, splits, params)
    ctes = [f"agg AS ({aggregate('EffectiveCost', scope.conditions(params), window, needs, tags.agg_items(params))})"]
    reads = needs.reads("EffectiveCost")
    selects = []
    for p, plan in enumerate(plans):
        labels, lab = Labels(f"p{p}_", tags), f"p{p}_lab"
        applied = [name for name in plan.order if plan.dimension(name).splits]
        ctes.append(f"{lab} AS MATERIALIZED ({plan.labelled('agg', plan.order, labels, params, applied)})")
        for name in plan.order:
            relation = lab
            if name in applied:
                stage = SplitSql(plan, name, labels, params, lab, lab, window.filters(keep_as_flag=False))
                ctes += stage.ctes
                relation = stage.output
            where = " AND ".join(window.filters(keep_as_flag=False)) or "true"
            selects.append(
                f"SELECT {p} AS plan, {params.bind(name)} AS dimension, {labels.value(plan.index[name])} AS value, currency, "
                f"sum(cost) AS cost, sum(abs(cost)) AS weight FROM {relation} WHERE {where} GROUP BY ALL"
            )
    result: list[dict[str, DimensionTotals]] = [
        {name: DimensionTotals({}, Decimal(0), Decimal(0)) for name in plan.order} for plan in plans
    ]
    if not selects:
        return result
    for p, name, value, currency, cost, weight in reader.select(scope, " UNION ALL ".join(selects), params, ctes, reads):
        totals = result[p][name]
        totals.values.setdefault(value, {})[currency] = cost
        totals.total += weight
        if value != plans[p].dimension(name).fallback:
            totals.allocated += weight
    return result


def _costs(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: money_text(amount) for currency, amount in sorted(amounts.items())}


def preview(reader: CostReader, scope: Scope, draft: CompiledRules, published: CompiledRules | None, start: date, end: date) -> dict[str, Any]:
    """Per dimension of either: cost per value before (published) and after (draft), the delta, and coverage."""
    plans = [draft] if published is None else [draft, published]
    totals = totals_by_dimension(reader, scope, plans, start, end)
    after, before = totals[0], totals[1] if published is not None else {}
    names = list(dict.fromkeys([*after, *before]))
    empty = DimensionTotals({}, Decimal(0), Decimal(0))
    dimensions = []
    for name in names:
        old, new = before.get(name, empty), after.get(name, empty)
        values = []
        for value in set(old.values) | set(new.values):
            was, now = old.values.get(value, {}), new.values.get(value, {})
            delta = {currency: now.get(currency, Decimal(0)) - was.get(currency, Decimal(0)) for currency in set(was) | set(now)}
            size = sum(abs(amount) for amount in [*was.values(), *now.values()])
            values.append((size, value, {"value": value, "before": _costs(was), "after": _costs(now), "delta": _costs(delta)}))
        values.sort(key=lambda entry: (-entry[0], entry[1]))
        dimensions.append(
            {"name": name, "coverage_before": old.coverage, "coverage_after": new.coverage, "values": [entry[2] for entry in values]}
        )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "published_version": published.version if published is not None else None,
        "dimensions": dimensions,
    }
