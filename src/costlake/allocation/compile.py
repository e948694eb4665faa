"""Rules to DuckDB SQL, evaluated on an aggregate of the rows rather than on the rows.

Rules only look at a few columns and the tag map, and those combinations are far fewer than rows. So a query
first groups the tenant's rows by what the rules and the query need (period buckets, the referenced columns, the
tag map, the currency: `agg`), then labels each group with every dimension it needs (`lab`: one CASE-like
expression per dimension, in dependency order), then applies the splits of the dimensions it shows (splits.py),
and groups the result. The lake is never rewritten: a rule change applies to all history at the next query.

A `CompiledRules` is built once per tenant and version (validation, dependency order); each query asks it for SQL
with its own bound parameters. Rule values, tag keys and patterns are always parameters, never SQL text.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from costlake.allocation.rules import (
    RULE_COLUMNS,
    CoalesceRule,
    Dimension,
    InheritRule,
    RegexExtract,
    RegexReplace,
    RuleSet,
    Split,
    Transform,
    WhenRule,
    check_rules,
)
from costlake.allocation.splits import SplitSql
from costlake.months import add_months, month_of
from costlake.query.allocated import AllocatedSql, DerivedRows, Grouping
from costlake.query.folds import Reads
from costlake.query.model import DIM_PREFIX, SPLIT_SUFFIX, TAG_PREFIX, CostQuery, Filter, allocation_names
from costlake.query.sql import Params, Resolve, dimension_expression, filter_condition, period_expression, query_reads, time_range

_FLEXIBLE = re.compile(r"[\s._-]")
DAY = "CAST(date_trunc('day', make_timestamp(epoch_us(ChargePeriodStart))) AS DATE)"  # a UTC day, as period_expression
FLEXIBLE_SQL = r"'[\s._-]'"


def flexible_key(key: str) -> str:
    """The form flexible matching compares: lower case, without whitespace, '.', '_' or '-'."""
    return _FLEXIBLE.sub("", key.lower())


def transform_sql(expression: str, transforms: Iterable[Transform], params: Params) -> str:
    for step in transforms:
        if step == "trim":
            expression = f"trim({expression})"
        elif step == "lower":
            expression = f"lower({expression})"
        elif step == "upper":
            expression = f"upper({expression})"
        elif step == "normalize":
            expression = f"trim(regexp_replace(lower(trim({expression})), '[^\\pL\\pN]+', '-', 'g'), '-')"
        elif isinstance(step, RegexExtract):
            expression = f"regexp_extract({expression}, {params.bind(step.regex_extract)}, {int(step.group)})"
        elif isinstance(step, RegexReplace):
            expression = f"regexp_replace({expression}, {params.bind(step.regex_replace)}, {params.bind(step.with_)}, 'g')"
    return expression


def _mapped(expression: str, mapping: dict[str, str], params: Params) -> str:
    if not mapping:
        return expression
    lookup = f"MAP({params.bind(list(mapping))}, {params.bind(list(mapping.values()))})"
    return f"coalesce({lookup}[{expression}], {expression})"


@dataclass(frozen=True)
class Needs:
    """What `agg` must keep for the dimensions a query labels: table columns (by SQL name), the values of some tag
    keys, and the whole tag map when a flexible key cannot be resolved to the table's own keys."""

    columns: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    tag_map: bool = False

    def __or__(self, other: Needs) -> Needs:
        return Needs(self.columns | other.columns, self.keys | other.keys, self.tag_map or other.tag_map)

    def reads(self, metric: str) -> Reads | None:
        """The same as a statement's reads of `costs` (None: whole tag maps, which no fold holds)."""
        return None if self.tag_map else Reads(self.columns, self.keys, frozenset({metric}))


def _name_needs(names: Iterable[str]) -> Needs:
    """What reading these columns, tag:<key>s and dim:<name>s needs of `agg` (dimensions need their own rules')."""
    needs = Needs()
    for name in names:
        if name.startswith(TAG_PREFIX):
            needs |= Needs(keys=frozenset({name[len(TAG_PREFIX) :]}))
        elif not name.startswith(DIM_PREFIX):
            needs |= Needs(frozenset({RULE_COLUMNS[name]}))
    return needs


class TagAccess:
    """How labels read tags from `agg`: one column per tag key the rules read (grouping by a few strings is
    cheaper than by every row's whole map), or the map itself when some flexible key must be matched row by row."""

    def __init__(self, needs: Needs) -> None:
        self.columns = None if needs.tag_map else {key: f"t{i}" for i, key in enumerate(sorted(needs.keys))}

    def value(self, key: str, params: Params) -> str:
        if self.columns is None:
            return f"Tags[{params.bind(key)}]"
        return self.columns[key]

    def agg_items(self, params: Params) -> list[str]:
        if self.columns is None:
            return ["Tags"]
        return [f"Tags[{params.bind(key)}] AS {alias}" for key, alias in self.columns.items()]


@dataclass
class Labels:
    """Column names of one plan's labels inside a statement (a prefix keeps two plans apart in a preview), and how
    they read tags."""

    prefix: str
    tags: TagAccess

    def matched(self, i: int) -> str:
        return f"{self.prefix}m{i}"

    def value(self, i: int) -> str:
        return f"{self.prefix}d{i}"

    def split(self, i: int) -> str:
        return f"{self.prefix}s{i}"

    def moved(self, i: int) -> str:
        """The label of the split that moved a row's cost (NULL: none did)."""
        return f"{self.prefix}b{i}"

    def fell(self, i: int) -> str:
        """How a split source row's targets were found (splits.py)."""
        return f"{self.prefix}f{i}"


class CompiledRules:
    """One version of a tenant's rules, checked and ordered; answers dim:<name> for the query engine."""

    def __init__(self, rules: RuleSet, version: int, tag_keys: frozenset[str] | None = None) -> None:
        self.rules = rules
        self.version = version
        self.order = check_rules(rules)
        self.index = {dimension.name: i for i, dimension in enumerate(rules.dimensions)}
        self.tag_keys = tag_keys  # the table's tag keys, which flexible keys resolve to (None: match row by row)

    def with_tag_keys(self, keys: Iterable[str]) -> CompiledRules:
        """The same plan, resolving flexible keys to these keys of the table (see `TagAccess`)."""
        resolved = copy.copy(self)
        resolved.tag_keys = frozenset(keys)
        return resolved

    @property
    def flexible(self) -> bool:
        return any(isinstance(rule, CoalesceRule) and rule.flexible for dimension in self.rules.dimensions for rule in dimension.rules)

    def spellings(self, key: str) -> list[str]:
        """The table's keys a flexible `key` matches: the key itself first, then the others in sorted order."""
        form = flexible_key(key)
        return [key, *sorted(k for k in self.tag_keys or () if k != key and flexible_key(k) == form)]

    def dimension_names(self) -> list[str]:
        return [dimension.name for dimension in self.rules.dimensions]

    def dimension(self, name: str) -> Dimension:
        return self.rules.dimensions[self.index[name]]

    # --- what a query needs ---------------------------------------------------------------------------------------

    def closure(self, names: Iterable[str], applied: Iterable[str] = ()) -> list[str]:
        """`names`, the dimensions their rules read, and those the filters of the `applied` splits read, in
        dependency order."""
        wanted: set[str] = set()
        pending = list(names)
        for name in applied:
            conditions = [condition for split in self.dimension(name).splits for condition in [*split.when, *split.over]]
            pending += [condition.dimension[len(DIM_PREFIX) :] for condition in conditions if condition.dimension.startswith(DIM_PREFIX)]
        while pending:
            name = pending.pop()
            if name in wanted:
                continue
            wanted.add(name)
            for rule in self.dimension(name).rules:
                if isinstance(rule, InheritRule):
                    pending.append(rule.from_dimension)
                elif isinstance(rule, WhenRule):
                    pending += [c.dimension[len(DIM_PREFIX) :] for c in rule.when if c.dimension.startswith(DIM_PREFIX)]
        return [name for name in self.order if name in wanted]

    def reads(self, metric: str) -> Reads | None:
        """What labelling any of this plan's dimensions, with all its splits, reads of `costs` (None: whole tag maps,
        which no fold holds). A fold of that serves every dim: query of the plan, and plain queries over less."""
        return self.needs(self.order, [name for name in self.order if self.dimension(name).splits]).reads(metric)

    def needs(self, labelled: Iterable[str], applied: Iterable[str]) -> Needs:
        needs = Needs()
        for name in labelled:
            for rule in self.dimension(name).rules:
                if isinstance(rule, CoalesceRule):
                    needs |= Needs(keys=frozenset(rule.coalesce), tag_map=rule.flexible and self.tag_keys is None)
                    if rule.flexible:
                        needs |= Needs(keys=frozenset(k for key in rule.coalesce for k in self.spellings(key)))
                elif isinstance(rule, WhenRule):
                    needs |= _name_needs(c.dimension for c in rule.when)
        for name in applied:
            for split in self.dimension(name).splits:
                needs |= _name_needs(c.dimension for c in [*split.when, *split.over])
        return needs

    # --- labels ---------------------------------------------------------------------------------------------------

    def resolver(self, labels: Labels, labelled: bool = True) -> Resolve:
        """How a filter reads a column, a tag or a dimension's value: on `lab` and after splits (`labelled`), or
        inside the labelling itself, where only the earlier dimensions' matches exist yet."""

        def resolve(name: str, params: Params) -> str:
            if name.startswith(DIM_PREFIX) and name.endswith(SPLIT_SUFFIX):
                i = self.index[name[len(DIM_PREFIX) : -len(SPLIT_SUFFIX)]]
                return f"coalesce({labels.moved(i)}, 'direct')" if self.rules.dimensions[i].splits else "'direct'"
            if name.startswith(DIM_PREFIX):
                i = self.index[name[len(DIM_PREFIX) :]]
                return labels.value(i) if labelled else f"coalesce({labels.matched(i)}, {params.bind(self.rules.dimensions[i].fallback)})"
            if name.startswith(TAG_PREFIX):
                return labels.tags.value(name[len(TAG_PREFIX) :], params)
            return RULE_COLUMNS[name]

        return resolve

    def _tag_value(self, key: str, flexible: bool, labels: Labels, params: Params) -> str:
        exact = f"nullif({labels.tags.value(key, params)}, '')"
        if not flexible:
            return exact
        # Another spelling of the key; the exact one first, then the spellings in sorted order (deterministic).
        if labels.tags.columns is not None:
            spellings = [f"nullif({labels.tags.value(k, params)}, '')" for k in self.spellings(key)]
            return spellings[0] if len(spellings) == 1 else f"coalesce({', '.join(spellings)})"
        variants = (
            f"list_sort(list_filter(map_entries(Tags), lambda e: regexp_replace(lower(e.key), {FLEXIBLE_SQL}, '', 'g') = "
            f"{params.bind(flexible_key(key))} AND e.value <> ''))[1].value"
        )
        return f"coalesce({exact}, {variants})"

    def _when_sql(self, rules: list[WhenRule], labels: Labels, params: Params) -> str:
        """Consecutive condition rules as one CASE (first match wins there too): one pass instead of one each."""
        resolve = self.resolver(labels, labelled=False)
        whens = " ".join(
            f"WHEN {' AND '.join(filter_condition(condition, params, resolve) for condition in rule.when)} THEN {params.bind(rule.value)}"
            for rule in rules
        )
        return f"CASE {whens} END"

    def _rule_sql(self, rule: CoalesceRule | InheritRule, labels: Labels, params: Params) -> str:
        if isinstance(rule, CoalesceRule):
            values = [f"nullif({transform_sql(self._tag_value(key, rule.flexible, labels, params), rule.transform, params)}, '')" for key in rule.coalesce]
            value = values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"
            return _mapped(value, rule.map, params)
        value = f"nullif({transform_sql(labels.matched(self.index[rule.from_dimension]), rule.transform, params)}, '')"
        return _mapped(value, rule.map, params)

    def labelled(self, source: str, names: Iterable[str], labels: Labels, params: Params, applied: Iterable[str] = ()) -> str:
        """`source` with, for each dimension (in dependency order), the value its rules matched (NULL: no rule
        did), its value with the fallback, and for `applied` dimensions the split each row is a source of.

        One projection per dimension: a dimension that reads another reads its column, instead of repeating (and
        re-evaluating) that dimension's whole expression."""
        sql = f"SELECT * FROM {source}"
        finals = []
        for name in names:
            i, dimension = self.index[name], self.dimension(name)
            rules: list[str] = []
            pending: list[WhenRule] = []
            for rule in [*dimension.rules, None]:
                if isinstance(rule, WhenRule):
                    pending.append(rule)
                    continue
                if pending:
                    rules.append(self._when_sql(pending, labels, params))
                    pending = []
                if rule is not None:
                    rules.append(self._rule_sql(rule, labels, params))
            matched = "CAST(NULL AS VARCHAR)" if not rules else rules[0] if len(rules) == 1 else f"coalesce({', '.join(rules)})"
            sql = f"SELECT *, {matched} AS {labels.matched(i)} FROM ({sql})"
            finals.append(f"coalesce({labels.matched(i)}, {params.bind(dimension.fallback)}) AS {labels.value(i)}")
        resolve = self.resolver(labels, labelled=False)
        for name in applied:
            i, dimension = self.index[name], self.dimension(name)
            cases = " ".join(
                f"WHEN {' AND '.join(filter_condition(c, params, resolve) for c in split.when)} THEN {n}"
                for n, split in enumerate(dimension.splits, start=1)
            )
            finals.append(f"CASE {cases} END AS {labels.split(i)}")
        return f"SELECT *, {', '.join(finals)} FROM ({sql})" if finals else sql

    # --- the query engine's entry point ---------------------------------------------------------------------------

    def grouped(self, grouping: Grouping, params: Params) -> AllocatedSql:
        shown = allocation_names([*grouping.group_by, *(f.dimension for f in grouping.filters)])
        applied = [name for name in shown if self.dimension(name).splits]
        raw_filters = [f for f in grouping.filters if not f.dimension.startswith(DIM_PREFIX)]
        dim_filters = [f for f in grouping.filters if f.dimension.startswith(DIM_PREFIX)]
        labelled = self.closure(shown, applied)
        needs = self.needs(labelled, applied)
        labels = Labels("", TagAccess(needs))
        splits = [split for name in applied for split in self.dimension(name).splits]
        window = Window.of(grouping.query, splits, params)
        keep = " AND ".join(filter_condition(f, params) for f in raw_filters) if raw_filters else None
        outputs = {
            j: f"{dimension_expression(name, params)} AS q{j}" for j, name in enumerate(grouping.group_by) if not name.startswith(DIM_PREFIX)
        }
        agg = aggregate(
            grouping.metric, grouping.scope, window, needs, labels.tags.agg_items(params) + list(outputs.values()),
            keep=keep, keep_as_flag=bool(applied),
        )
        # Splits read `lab` several times (weights, keys, rows): then it is computed once.
        ctes = [f"agg AS ({agg})", f"lab AS {'MATERIALIZED ' if applied else ''}({self.labelled('agg', labelled, labels, params, applied)})"]
        rows_shown = window.filters(keep_as_flag=bool(applied) and keep is not None)
        relation, stages = self._split(applied, labels, params, rows_shown, ctes)
        resolve = self.resolver(labels)
        where = [*rows_shown, *(filter_condition(f, params, resolve) for f in dim_filters)]
        groups = [f"q{j} AS g{j}" if j in outputs else f"{resolve(name, params)} AS g{j}" for j, name in enumerate(grouping.group_by)]
        base = (
            f"SELECT period, {', '.join([*groups, ''])}currency, sum(cost) AS cost FROM {relation} "
            f"WHERE {' AND '.join(where) or 'true'} GROUP BY ALL"
        )
        notes = [note for stage in stages for note in stage.notes(relation, rows_shown, params)]
        plan_reads = self.reads(grouping.metric)
        query_names = [name for name in [*grouping.group_by, *(f.dimension for f in raw_filters)] if not name.startswith(DIM_PREFIX)]
        reads = None if plan_reads is None else plan_reads | query_reads(query_names, grouping.metric)
        derived = None
        if reads is not None and grouping.query is not None and grouping.query.time_basis == "charge" and grouping.scope == ["true"]:
            derived = self._derived(grouping, grouping.query, applied, query_names, dim_filters, raw_filters)
        return AllocatedSql(ctes, base, " UNION ALL ".join(notes) if notes else None, reads, derived)

    def _split(self, applied: list[str], labels: Labels, params: Params, shown: list[str], ctes: list[str]) -> tuple[str, list[SplitSql]]:
        """The split stages of the `applied` dimensions over `lab`, in order, their CTEs added to `ctes`; the
        relation of the split rows, and the stages (for their notes)."""
        relation, stages = "lab", []
        for name in applied:
            stages.append(SplitSql(self, name, labels, params, "lab", relation, shown))
            ctes += stages[-1].ctes
            relation = stages[-1].output
        return relation, stages

    def _derived(
        self,
        grouping: Grouping,
        query: CostQuery,
        applied: list[str],
        query_names: list[str],
        dim_filters: list[Filter],
        raw_filters: list[Filter],
    ) -> DerivedRows:
        """The query answered from every row of the table labelled by every dimension and split by the `applied`
        dimensions' splits, by UTC day: rows that depend on the plan, the table version and the columns the query
        reads, not on its range, groups or filter values. Weights come out the same as in `grouped`, which reads
        whole split periods too (and charge-basis ranges start and end at midnight UTC)."""
        needs = self.needs(self.order, applied) | _name_needs(query_names)
        labels, own, params = Labels("", TagAccess(needs)), Params(), Params()
        splits = [split for name in applied for split in self.dimension(name).splits]
        window = Window(DAY, day=any(s.granularity == "day" for s in splits), month=any(s.granularity == "month" for s in splits))
        ctes = [
            f"agg AS ({aggregate(grouping.metric, [], window, needs, labels.tags.agg_items(own))})",
            f"lab AS MATERIALIZED ({self.labelled('agg', self.order, labels, own, applied)})",
        ]
        relation, stages = self._split(applied, labels, own, [], ctes)
        resolve = self.resolver(labels)
        shown = [f"period >= {params.bind(query.start)}", f"period < {params.bind(query.end)}", *(filter_condition(f, params, resolve) for f in raw_filters)]
        where = [*shown, *(filter_condition(f, params, resolve) for f in dim_filters)]
        period = "CAST(NULL AS DATE)" if query.granularity == "none" else f"CAST(date_trunc('{query.granularity}', period) AS DATE)"
        groups = [f"{resolve(name, params)} AS g{j}" for j, name in enumerate(grouping.group_by)]
        base = f"SELECT {period} AS period, {', '.join([*groups, ''])}currency, sum(cost) AS cost FROM allocated WHERE {' AND '.join(where)} GROUP BY ALL"
        notes = [note for stage in stages for note in stage.notes("allocated", shown, params)]
        return DerivedRows(ctes, relation, own.values, base, " UNION ALL ".join(notes) if notes else None, params)


@dataclass
class Window:
    """The time range a query shows, and the wider one its monthly splits weigh costs over (whole months)."""

    period: str
    shown: list[str] = field(default_factory=list)  # conditions on `costs` for the rows the query shows
    read: list[str] = field(default_factory=list)  # conditions for the rows read (shown + the rest of their months)
    day: bool = False
    month: bool = False

    @property
    def wider(self) -> bool:
        return self.read != self.shown

    @classmethod
    def of(cls, query: CostQuery | None, splits: list[Split], params: Params) -> Window:
        day = any(split.granularity == "day" for split in splits)
        month = any(split.granularity == "month" for split in splits)
        if query is None:
            return cls("CAST(NULL AS DATE)", day=day, month=month)
        shown = time_range(query, params)
        read = shown
        if month and query.time_basis == "charge" and (query.start.day != 1 or query.end.day != 1):
            first = date.fromisoformat(month_of(query.start) + "-01")
            after = date.fromisoformat(add_months(month_of(query.end - timedelta(days=1)), 1) + "-01")
            read = time_range(query.model_copy(update={"start": first, "end": after}), params)
        return cls(period_expression(query), shown, read, day, month)

    def filters(self, keep_as_flag: bool) -> list[str]:
        """Conditions on `lab` (or a split stage) for the rows the query shows."""
        return (["in_range"] if self.wider else []) + (["keep"] if keep_as_flag else [])


def aggregate(
    metric: str,
    scope: list[str],
    window: Window,
    needs: Needs,
    outputs: list[str],
    *,
    keep: str | None = None,
    keep_as_flag: bool = False,
) -> str:
    """The SELECT of `agg`: the rows read, grouped by what the labels, the splits and the query need.

    Without splits the query's own filters prune rows here; with splits they become a `keep` column instead,
    since a split weighs the costs of every row of its period, shown or not. A split period that is the query's
    own period (daily splits in a daily query) is not grouped by twice."""
    items = [f"{window.period} AS period"]
    same = []
    for granularity, wanted in (("day", window.day), ("month", window.month)):
        bucket = f"CAST(date_trunc('{granularity}', make_timestamp(epoch_us(ChargePeriodStart))) AS DATE)"
        if wanted and bucket == window.period:
            same.append(f"period AS s_{granularity}")
        elif wanted:
            items.append(f"{bucket} AS s_{granularity}")
    where = [*scope, *window.read]
    if window.wider:
        items.append(f"({' AND '.join(window.shown)}) AS in_range")
    if keep is not None:
        if keep_as_flag:
            items.append(f"coalesce({keep}, false) AS keep")
        else:
            where.append(keep)
    items += outputs
    items += sorted(needs.columns)
    items.append(f"BillingCurrency AS currency, sum({metric}) AS cost")
    grouped = f"SELECT {', '.join(items)} FROM costs WHERE {' AND '.join(where) or 'true'} GROUP BY ALL"
    return f"SELECT *, {', '.join(same)} FROM ({grouped})" if same else grouped
