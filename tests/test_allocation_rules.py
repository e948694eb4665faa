"""What each rule and transform gives, row by row, with the tag values read as columns (flexible keys resolved to
the table's keys) and matched on the tag map: both must agree. Pure DuckDB, no catalog."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from costlake.allocation.compile import CompiledRules, flexible_key
from costlake.allocation.rules import RuleSet
from costlake.allocation.suggestions import dimension_name, value_group
from costlake.query.model import CostQuery
from costlake.query.sql import Params, cost_query_sql

# (row id, provider, service, tags)
ROWS = [
    ("r1", "AWS", "Compute", {"Team": "  Payments Team "}),
    ("r2", "AWS", "Compute", {"team": "", "owner team": "Search"}),  # empty value: the next key is tried
    ("r3", "AWS", "Compute", {"TEAM": "x", "team": "exact"}),  # flexible: the exact key first
    ("r4", "AWS", "Storage", {"app": "billing-v2"}),
    ("r5", "Microsoft", "Datadog Logs", {}),
    ("r6", "AWS", "Compute", {"env": "PROD_eu"}),
    ("r7", "Anthropic", "Claude", {"cost.center": "CC-1010"}),
]
RULES = {"dimensions": [
    {"name": "team", "fallback": "nobody", "rules": [
        {"when": [{"dimension": "ServiceName", "op": "contains", "values": ["datadog"]}], "value": "observability"},
        {"coalesce": ["team", "owner-team"], "flexible": True, "transform": ["normalize"], "map": {"payments-team": "payments"}},
        {"coalesce": ["app"], "transform": [{"regex_extract": "^([a-z]+)-v[0-9]+$", "group": 1}], "map": {"billing": "payments"}},
        {"from_dimension": "cost_center", "transform": [{"regex_replace": "^CC-(\\d+)$", "with": "cc\\1"}]},
    ]},
    {"name": "env", "rules": [
        {"coalesce": ["env"], "transform": ["lower", {"regex_replace": "_.*$", "with": ""}, "upper"]},
        {"when": [{"dimension": "tag:env", "op": "missing"}, {"dimension": "ProviderName", "op": "not_in", "values": ["Anthropic"]}], "value": "NONE"},
    ]},
    {"name": "cost_center", "rules": [{"coalesce": ["costcenter"], "flexible": True}]},
]}
EXPECTED = {
    "team": {"r1": "payments", "r2": "search", "r3": "exact", "r4": "payments", "r5": "observability", "r6": "nobody", "r7": "cc1010"},
    "env": {"r1": "NONE", "r2": "NONE", "r3": "NONE", "r4": "NONE", "r5": "NONE", "r6": "PROD", "r7": "Unallocated"},
    "cost_center": {"r7": "CC-1010", **{r: "Unallocated" for r in ("r1", "r2", "r3", "r4", "r5", "r6")}},
}


@pytest.fixture(scope="module")
def connection() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE t (ChargePeriodStart TIMESTAMPTZ, ResourceId VARCHAR, ProviderName VARCHAR, ServiceName VARCHAR, "
        "Tags MAP(VARCHAR, VARCHAR), BillingCurrency VARCHAR, EffectiveCost DECIMAL(38,18), x_SourceId VARCHAR, x_BillingMonth VARCHAR)"
    )
    for row_id, provider, service, tags in ROWS:
        connection.execute(
            "INSERT INTO t VALUES (TIMESTAMPTZ '2026-10-05 00:00:00+00', $r, $p, $s, MAP($k, $v), 'USD', 1, 'src', '2026-10')",
            {"r": row_id, "p": provider, "s": service, "k": list(tags), "v": list(tags.values())},
        )
    return connection


@pytest.mark.parametrize("resolved", [True, False], ids=["tag columns", "tag map"])
@pytest.mark.parametrize("dimension", list(EXPECTED))
def test_each_row_gets_the_value_its_first_matching_rule_gives(connection, resolved, dimension) -> None:  # type: ignore[no-untyped-def]
    plan = CompiledRules(RuleSet.model_validate(RULES), 1)
    if resolved:
        plan = plan.with_tag_keys(key for _, _, _, tags in ROWS for key in tags)
    query = CostQuery(start=date(2026, 10, 1), end=date(2026, 11, 1), granularity="none", group_by=["ResourceId", f"dim:{dimension}"])
    params = Params()
    statement = cost_query_sql(query, ["true"], params, plan)
    rows = connection.execute(f"WITH {', '.join(['costs AS (SELECT * FROM t)', *statement.ctes])} {statement.sql}", params.values).fetchall()
    assert {row[1]: row[2] for row in rows} == EXPECTED[dimension]


def test_variants_a_rule_cannot_hold_are_not_suggested() -> None:
    from decimal import Decimal

    from costlake.allocation.inventory import KeyFacts, TagFacts
    from costlake.allocation.suggestions import accept, detect

    values = {v: {"cost": {"USD": Decimal(1)}, "weight": Decimal(1), "rows": 1} for v in ["prod", "Prod", " ", "", "x" * 300, "X" * 300]}
    facts = TagFacts({"env": KeyFacts(rows=6, weight=Decimal(6), distinct_values=6, values=values)}, Decimal(6), {}, {})
    (found,) = detect(facts)
    assert found["variants"] == ["Prod", "prod"]
    rules, name = accept(RuleSet(), found)
    assert name == "env" and rules.dimensions[0].rules[0].map == {"prod": "Prod"}


def test_spelling_helpers() -> None:
    assert flexible_key("Owner Team") == flexible_key("owner_team") == flexible_key("owner.team") == flexible_key("OWNER-TEAM") == "ownerteam"
    assert value_group(" Prod ") == value_group("production") == value_group("PRD") == "production"
    assert value_group("Payments") == value_group("payments ") and value_group("stg") == value_group("Staging")
    assert dimension_name("CostCenter") == dimension_name("cost-center") == "cost_center"
    assert dimension_name("9-lives") == "tag_9_lives"
