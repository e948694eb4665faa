"""Shared-cost splits as SQL: the cost of each source row spread over a dimension's values, money conserved.

A dimension's splits apply after all rules, to the rows whose labels match a split's `when` (the first split that
matches takes the row). Each source row (a group of `lab`: period, columns, currency) becomes one row per target
value, identical but for the dimension's value and the cost; no other dimension changes. Targets and weights,
per split period (the UTC day or month of ChargePeriodStart):

- even: every value the dimension has in that period, on rows that are no split's source, match `over`, and are
  not in the fallback bucket; weight 1 each;
- proportional: the same values, each weighted by its own cost in the period and currency (negative totals weigh
  0); when no value has a positive cost there, it falls back to even and says so in a note;
- fixed: the given weights, whatever the period.

A source row with no target (no values in its period) keeps its own label, and a note says so. Money stays exact:
weights are integers (costs in units of 1e-6), each share is cost × ⌊w × 10⁹ / Σw⌋ / 10⁹ in DECIMAL(38,18), and
the rounding remainder (cost − Σ shares) goes to the largest share (ties: the smallest value), so the shares of a
row add up to its cost exactly, and every total per period and currency is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from costlake.query.sql import Params, filter_condition

if TYPE_CHECKING:
    from costlake.allocation.compile import CompiledRules, Labels

_SHARE = "CAST(CAST({cost} * ({w} * 1000000000 // sum({w}) OVER (PARTITION BY rid)) AS DECIMAL(38,9)) * CAST('0.000000001' AS DECIMAL(10,9)) AS DECIMAL(38,18))"


class SplitSql:
    """The common table expressions that apply one dimension's splits to `source` (a relation shaped like `lab`)."""

    def __init__(self, plan: CompiledRules, name: str, labels: Labels, params: Params, lab: str, source: str, shown: list[str]) -> None:
        i = plan.index[name]
        dimension = plan.dimension(name)
        resolve = plan.resolver(labels)
        value, split_no = labels.value(i), labels.split(i)
        stem = f"{labels.prefix}x{i}"
        def period(row: str = "") -> str:
            """The split period of a source row: its day or month, by the split that takes it."""
            whens = (f"WHEN {row}{split_no} = {n} THEN {row}s_{split.granularity}" for n, split in enumerate(dimension.splits, start=1))
            return f"CASE {' '.join(whens)} END"

        keys = f"{stem}_keys"
        self.ctes = [
            f"{keys} AS MATERIALIZED (SELECT DISTINCT {split_no} AS sn, {period()} AS sp, currency FROM {lab} "
            f"WHERE {' AND '.join([f'{split_no} IS NOT NULL', *shown])})"
        ]
        targets = []
        for n, split in enumerate(dimension.splits, start=1):
            if split.method == "fixed":
                weights = split.unit_weights()
                targets.append(
                    f"SELECT k.sn, k.sp, k.currency, f.value, CAST(f.w AS HUGEINT) AS w, 0 AS fell FROM {keys} k, "
                    f"(SELECT unnest({params.bind(list(weights))}) AS value, unnest({params.bind(list(weights.values()))}) AS w) f "
                    f"WHERE k.sn = {n}"
                )
                continue
            over = [filter_condition(condition, params, resolve) for condition in split.over]
            candidates = " AND ".join([f"{split_no} IS NULL", f"{value} <> {params.bind(dimension.fallback)}", *over])
            spread = f"(SELECT DISTINCT s_{split.granularity} AS sp, {value} AS value FROM {lab} WHERE {candidates})"
            if split.method == "even":
                targets.append(
                    f"SELECT k.sn, k.sp, k.currency, e.value, CAST(1 AS HUGEINT) AS w, 0 AS fell FROM {keys} k "
                    f"JOIN {spread} e ON e.sp = k.sp WHERE k.sn = {n}"
                )
            else:
                own = f"{stem}_w{n}"
                self.ctes.append(
                    f"{own} AS MATERIALIZED (SELECT s_{split.granularity} AS sp, currency, {value} AS value, "
                    f"CAST(greatest(sum(cost), 0) * 1000000 AS HUGEINT) AS w FROM {lab} WHERE {candidates} GROUP BY ALL)"
                )
                targets.append(
                    f"SELECT k.sn, k.sp, k.currency, o.value, o.w, 0 AS fell FROM {keys} k "
                    f"JOIN {own} o ON o.sp = k.sp AND o.currency = k.currency WHERE k.sn = {n} AND o.w > 0"
                )
                targets.append(
                    f"SELECT k.sn, k.sp, k.currency, e.value, CAST(1 AS HUGEINT) AS w, 1 AS fell FROM {keys} k "
                    f"JOIN (SELECT DISTINCT sp, value FROM {own}) e ON e.sp = k.sp WHERE k.sn = {n} "
                    f"AND NOT EXISTS (SELECT 1 FROM {own} o WHERE o.sp = k.sp AND o.currency = k.currency AND o.w > 0)"
                )
        target = f"{stem}_targets"
        self.ctes.append(f"{target} AS MATERIALIZED ({' UNION ALL '.join(targets)})")
        share = _SHARE.format(cost="r.cost", w="t.w")
        spread_rows = (
            f"SELECT r.*, t.value AS t_value, t.fell AS t_fell, CASE WHEN t.value IS NULL THEN r.cost ELSE {share} END AS share "
            f"FROM (SELECT *, row_number() OVER () AS rid FROM {source} WHERE {split_no} IS NOT NULL) r "
            f"LEFT JOIN {target} t ON t.sn = r.{split_no} AND t.sp = {period('r.')} "
            f"AND t.currency = r.currency"
        )
        remainder = (
            "share + CASE WHEN row_number() OVER (PARTITION BY rid ORDER BY abs(share) DESC, t_value) = 1 "
            "THEN cost - sum(share) OVER (PARTITION BY rid) ELSE 0 END"
        )
        self.output = stem
        moved = f"CASE WHEN t_value IS NOT NULL THEN list_extract({params.bind([s.label(n) for n, s in enumerate(dimension.splits, start=1)])}, {split_no}) END"
        # Each source row keeps how its targets were found (`fell`: 0 by weight, 1 evenly after all-zero weights, NULL:
        # none), so the notes can be read from the split rows alone, including rows kept from an earlier query.
        self.ctes.append(
            f"{stem} AS (SELECT * FROM {source} WHERE {split_no} IS NULL UNION ALL BY NAME "
            f"SELECT * EXCLUDE (rid, t_value, t_fell, share) REPLACE (coalesce(t_value, {value}) AS {value}, {remainder} AS cost), "
            f"{moved} AS {labels.moved(i)}, t_fell AS {labels.fell(i)} FROM ({spread_rows}))"
        )
        self._described = (name, dimension, split_no, labels.fell(i), period())

    def notes(self, relation: str, shown: list[str], params: Params) -> list[str]:
        """SELECTs of the warnings over the split rows in `relation` that a query shows (bound only when a caller
        reports them): splits that fell back to even, and periods with nothing to spread over."""
        name, dimension, split_no, fell, period = self._described
        if all(split.method == "fixed" for split in dimension.splits):
            return []  # fixed weights always have targets
        names = [f"dimension {name}, split {n} ({split.method}, per {split.granularity})" for n, split in enumerate(dimension.splits, start=1)]
        labels_list = params.bind(names)
        facts = (
            f"SELECT DISTINCT {split_no} AS sn, {period} AS sp, currency, {fell} AS fell FROM {relation} "
            f"WHERE {' AND '.join([f'{split_no} IS NOT NULL', *shown])}"
        )
        return [
            f"SELECT list_extract({labels_list}, sn) || ': no positive cost to weigh in ' || count(*) || ' period(s) and currency(ies), "
            f"' || min(sp) || ' to ' || max(sp) || '; spread evenly instead' AS note FROM ({facts}) WHERE fell = 1 GROUP BY sn",
            f"SELECT list_extract({labels_list}, sn) || ': no values to spread over in ' || count(*) || ' period(s) and currency(ies), "
            f"' || min(sp) || ' to ' || max(sp) || '; that cost stays where the rules put it' AS note FROM ({facts}) WHERE fell IS NULL GROUP BY sn",
        ]
