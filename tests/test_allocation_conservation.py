"""Money is conserved by construction: for random rows and random rules (rule kinds, transforms, splits of every
method and granularity, dimensions reading dimensions), the allocated total of every period and currency equals the
raw total exactly (DECIMAL(38,18), so to the cent and far beyond). Pure DuckDB: no catalog involved."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costlake.allocation.compile import CompiledRules
from costlake.allocation.rules import RuleSet
from costlake.query.model import CostQuery
from costlake.query.sql import Params, cost_query_sql

KEYS = ["team", "Team", "cost-center", "env"]
VALUES = ["payments", " Payments ", "search", "prod", ""]
PROVIDERS = ["AWS", "Microsoft", "Anthropic"]
SERVICES = ["Compute", "Support", "Storage"]
DAYS = [date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 15), date(2026, 10, 31)]

money = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=6, allow_nan=False, allow_infinity=False)
rows = st.lists(
    st.tuples(
        st.sampled_from(DAYS),
        st.sampled_from(PROVIDERS),
        st.sampled_from(SERVICES),
        st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3),
        st.sampled_from(["USD", "EUR"]),
        money,
    ),
    min_size=1,
    max_size=40,
)
filters = st.one_of(
    st.builds(lambda v: {"dimension": "ServiceName", "op": "eq", "values": [v]}, st.sampled_from(SERVICES)),
    st.builds(lambda v: {"dimension": "ProviderName", "op": "in", "values": v}, st.lists(st.sampled_from(PROVIDERS), min_size=1, max_size=2)),
    st.builds(lambda k: {"dimension": f"tag:{k}", "op": "missing", "values": []}, st.sampled_from(KEYS)),
)
coalesce = st.builds(
    lambda keys, flexible, transform, mapping: {"coalesce": keys, "flexible": flexible, "transform": transform, "map": mapping},
    st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True),
    st.booleans(),
    st.lists(st.sampled_from(["trim", "lower", "upper", "normalize", {"regex_replace": "[aeiou]", "with": "*"}, {"regex_extract": "^(p\\w+)", "group": 1}]), max_size=3),
    st.dictionaries(st.sampled_from(["payments", "prod"]), st.sampled_from(["pay", "production"]), max_size=2),
)
when = st.builds(lambda f, v: {"when": f, "value": v}, st.lists(filters, min_size=1, max_size=2), st.sampled_from(["ml", "ops"]))


@st.composite
def rule_sets(draw: st.DrawFn) -> dict:
    dimensions = []
    for i in range(draw(st.integers(1, 3))):
        name = f"d{i}"
        kinds = [coalesce, when] + ([st.builds(lambda n: {"from_dimension": n}, st.sampled_from([f"d{j}" for j in range(i)]))] if i else [])
        split_filters = st.lists(st.one_of(filters, st.just({"dimension": f"dim:{name}", "op": "eq", "values": ["Unallocated"]})), min_size=1, max_size=2)
        splits = st.lists(
            st.one_of(
                st.builds(lambda w, g, o: {"when": w, "method": "proportional", "granularity": g, "over": o}, split_filters, st.sampled_from(["day", "month"]), st.lists(filters, max_size=1)),
                st.builds(lambda w, g: {"when": w, "method": "even", "granularity": g}, split_filters, st.sampled_from(["day", "month"])),
                st.builds(lambda w, ws: {"when": w, "method": "fixed", "weights": ws}, split_filters,
                          st.dictionaries(st.sampled_from(["payments", "ml", "x"]), st.sampled_from(["1", "33.333333", "60", "0.000001"]), min_size=1)),
            ),
            max_size=2,
        )
        dimensions.append({"name": name, "rules": draw(st.lists(st.one_of(*kinds), max_size=3)), "splits": draw(splits)})
    return {"dimensions": dimensions}


def _table(connection: duckdb.DuckDBPyConnection, data: list[tuple]) -> None:
    connection.execute(
        "CREATE OR REPLACE TABLE t (ChargePeriodStart TIMESTAMPTZ, ProviderName VARCHAR, ServiceName VARCHAR, Tags MAP(VARCHAR, VARCHAR), "
        "BillingCurrency VARCHAR, EffectiveCost DECIMAL(38,18), x_SourceId VARCHAR, x_BillingMonth VARCHAR)"
    )
    columns = list(zip(*data))
    connection.execute(
        "INSERT INTO t SELECT CAST(d AS TIMESTAMPTZ), p, s, MAP(k, v), c, CAST(m AS DECIMAL(38,18)), 'src', strftime(CAST(d AS TIMESTAMP), '%Y-%m') "
        "FROM (SELECT unnest($d) AS d, unnest($p) AS p, unnest($s) AS s, unnest($k) AS k, unnest($v) AS v, unnest($c) AS c, unnest($m) AS m)",
        {
            "d": [f"{day}T00:00:00+00:00" for day in columns[0]], "p": list(columns[1]), "s": list(columns[2]),
            "k": [list(tags) for tags in columns[3]], "v": [list(tags.values()) for tags in columns[3]],
            "c": list(columns[4]), "m": [str(cost) for cost in columns[5]],
        },
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=rows, rules=rule_sets(), granularity=st.sampled_from(["day", "month", "none"]), two=st.booleans(),
    start=st.sampled_from([date(2026, 9, 1), date(2026, 9, 30)]), resolved=st.booleans(),
)
def test_allocated_totals_equal_raw_totals_per_period_and_currency(data, rules, granularity, two, start, resolved) -> None:  # type: ignore[no-untyped-def]
    plan = CompiledRules(RuleSet.model_validate(rules), 1)
    if resolved:  # flexible keys resolved to the table's keys (tag values as columns) rather than matched on the map
        plan = plan.with_tag_keys(KEYS)
    names = plan.dimension_names()
    group_by = [f"dim:{names[-1]}"] + ([f"dim:{names[0]}"] if two and len(names) > 1 else [])
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    _table(connection, data)
    query = CostQuery(start=start, end=date(2026, 11, 1), granularity=granularity, group_by=group_by)

    params = Params()
    statement = cost_query_sql(query, ["true"], params, plan)
    allocated: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in connection.execute(f"WITH {', '.join(['costs AS (SELECT * FROM t)', *statement.ctes])} {statement.sql}", params.values).fetchall():
        if row[-1] is None:  # not a note
            allocated[(row[0], row[-4])] += row[-3]

    raw_params = Params()
    raw = cost_query_sql(query.model_copy(update={"group_by": []}), ["true"], raw_params)
    expected: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in connection.execute(f"WITH costs AS (SELECT * FROM t) {raw.sql}", raw_params.values).fetchall():
        expected[(row[0], row[1])] += row[2]
    assert {key: value for key, value in allocated.items() if value} == {key: value for key, value in expected.items() if value}
