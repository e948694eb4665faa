"""Folds (query/folds.py): questions answered from a day-grain fold of the rows give exactly the answers the rows
give, never outlive their table version, and are not kept where they would not fold the rows much."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import auth, sync_and_wait
from costlake.allocation.preview import preview
from costlake.allocation.rules import RuleSet
from costlake.allocation.versions import compile_rules
from costlake.months import add_months, current_month
from costlake.query.engine import CostReader
from costlake.query.folds import Reads
from costlake.query.model import CostQuery
from costlake.query.scope import Scope
from costlake.samples.generator import generate_focus_export
from focus_files import focus_row, write_csv

END = date.fromisoformat(current_month() + "-01")
RULES = {"dimensions": [
    {"name": "team", "rules": [
        {"coalesce": ["team"], "flexible": True, "transform": ["trim", "lower"], "map": {"web": "web-team"}},
        {"when": [{"dimension": "ServiceName", "op": "contains", "values": ["data"]}], "value": "data-platform"},
    ], "splits": [
        {"when": [{"dimension": "dim:team", "op": "eq", "values": ["Unallocated"]}], "method": "proportional", "granularity": "month"},
        {"when": [{"dimension": "ServiceName", "op": "contains", "values": ["support"]}], "method": "even", "granularity": "day"},
    ]},
    {"name": "env", "fallback": "unknown", "rules": [
        {"coalesce": ["env", "environment"], "transform": ["lower"], "map": {"production": "prod"}},
        {"from_dimension": "team", "map": {"data-platform": "prod"}},
    ], "splits": [  # nothing to spread over: the cost stays, and a warning says so
        {"when": [{"dimension": "dim:env", "op": "eq", "values": ["unknown"]}], "method": "proportional", "granularity": "month",
         "over": [{"dimension": "ServiceName", "op": "eq", "values": ["no-such-service"]}]},
    ]},
]}
QUERIES: list[dict[str, Any]] = [
    {"granularity": "day", "group_by": ["ServiceName"], "start": END.isoformat()},
    {"granularity": "month", "group_by": ["tag:team"], "filters": [{"dimension": "ServiceName", "op": "ne", "values": ["x"]}]},
    {"granularity": "week", "group_by": ["SubAccountId", "tag:env"], "top": 3, "metric": "BilledCost"},
    {"granularity": "none", "group_by": ["RegionId"], "filters": [{"dimension": "tag:team", "op": "missing"}]},
    {"granularity": "month", "time_basis": "billing", "group_by": ["source"]},
    {"granularity": "day", "group_by": ["dim:team"], "start": (END.replace(day=9)).isoformat(), "end": add_months(current_month(), 1) + "-01"},
    {"granularity": "month", "group_by": ["dim:team.split", "dim:team"]},
    {"granularity": "week", "group_by": ["dim:env", "ServiceName"], "top": 4, "filters": [{"dimension": "dim:team", "op": "ne", "values": ["web-team"]}]},
    {"granularity": "month", "time_basis": "billing", "group_by": ["dim:env"], "filters": [{"dimension": "ServiceName", "op": "contains", "values": ["e"]}]},
]


@pytest.fixture
def tenant(client, make_tenant, tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.allowed_local_roots = [tmp_path]
    acme = make_tenant("acme")
    generate_focus_export(tmp_path / "export", end_month=END, months=3, rows_per_month=100_000)
    base = f"/api/v1/tenants/{acme.id}"
    source = client.post(f"{base}/billing-sources", headers=auth(acme.admin), json={"provider": "aws", "source_uri": str(tmp_path / "export")}).json()
    assert sync_and_wait(client, acme.id, source["id"], acme.admin)["status"] == "succeeded"
    assert client.put(f"{base}/allocation/draft", headers=auth(acme.admin), json=RULES).status_code == 200
    assert client.post(f"{base}/allocation/publish", headers=auth(acme.admin)).status_code == 200
    return acme, source, tmp_path / "export"


def _rows_reader(services: Any) -> CostReader:
    """A reader of the same tables that never folds: what the answers must equal."""
    reader = CostReader(services.settings.model_copy(update={"query_fold_rows": 0}), services.lake)
    reader.plans = services.allocation.for_query
    return reader


def _answers(reader: CostReader, scope: Scope) -> list[Any]:
    answers: list[Any] = []
    for body in QUERIES:
        result = reader.costs(CostQuery.model_validate(body), scope)
        answers.append((sorted((row.period or "", str(row.groups), row.currency, row.cost, row.other) for row in result.rows), result.notes))
    answers.append(reader.dimension_values(Scope(scope.tenant_id), "ServiceName", search="s", limit=10, offset=0))
    plan = reader.plan_for(CostQuery(group_by=["dim:team"]), scope)
    answers.append(reader.dimension_values(scope, "dim:team", search=None, limit=10, offset=2, plan=plan))
    return answers


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_answers_from_folds_equal_answers_from_the_rows_and_read_no_file(client, tenant) -> None:  # type: ignore[no-untyped-def]
    acme, _, _ = tenant
    services, scope = client.app.state.services, Scope(acme.id)
    expected = _answers(_rows_reader(services), scope)
    assert any(notes for _, notes in expected[:-2]), "no query warns"
    assert _answers(services.reader, scope) == expected  # the first questions read the rows, and start folds
    services.reader.folds.settle()
    held = services.reader.folds.held(acme.id)
    assert held, "no fold was kept"
    assert all(rows < 300_000 / 4 for _, _, rows in held)
    # From now on no question reads a Parquet file: without them, the answers stay the same.
    lake = Path(services.settings.lake_root) / acme.id
    for parquet in lake.rglob("*.parquet"):
        parquet.rename(parquet.with_suffix(".moved"))
    services.reader._cache = type(services.reader._cache)(0)  # no kept answers either: every question runs
    assert _answers(services.reader, scope) == expected
    # Charge-basis dim: questions then derive their plan's labelled and split rows from the fold, once, and answer
    # from those: the same answers again, warnings included.
    services.reader.folds.settle()
    assert sum(reads is None for _, reads, _ in services.reader.folds.held(acme.id)) == 2  # per set of dimensions whose splits apply
    assert _answers(services.reader, scope) == expected
    # The allocation preview reads the same fold (a draft with another map: only the labels change).
    edited = {"dimensions": [{**RULES["dimensions"][0], "rules": [{**RULES["dimensions"][0]["rules"][0], "map": {"payments": "pay-2"}}]}, RULES["dimensions"][1]]}
    response = client.post(f"/api/v1/tenants/{acme.id}/allocation/preview", headers=auth(acme.admin), json=edited)
    assert response.status_code == 200, response.text
    team = next(d for d in response.json()["dimensions"] if d["name"] == "team")
    moved = {v["value"]: v for v in team["values"]}
    assert moved["pay-2"]["before"] == {} and moved["pay-2"]["after"] and moved["payments"]["after"] == {}
    for parquet in lake.rglob("*.moved"):
        parquet.rename(parquet.with_suffix(".parquet"))
    draft = services.allocation.resolved(scope, compile_rules(RuleSet.model_validate(edited)))
    published = services.allocation.resolved(scope, services.allocation.plans.get(acme.id))
    window = CostQuery()
    from_rows = preview(_rows_reader(services), scope, draft, published, window.start, window.end)
    assert json.loads(json.dumps(from_rows, default=str))["dimensions"] == response.json()["dimensions"]
    # A dimension with splits lists its values (this answered 500 before: the splits' notes had unused parameters).
    values = client.get(f"/api/v1/tenants/{acme.id}/costs/dimension-values", params={"dimension": "dim:team"}, headers=auth(acme.member))
    assert values.status_code == 200 and "payments" in {item["value"] for item in values.json()["values"]}, values.text


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_new_table_version_is_never_answered_from_an_older_fold(client, tenant) -> None:  # type: ignore[no-untyped-def]
    acme, source, export = tenant
    services, scope = client.app.state.services, Scope(acme.id)
    query = CostQuery(granularity="month", group_by=["dim:team"])
    services.reader.costs(query, scope)
    services.reader.folds.settle()
    old_version = services.reader.version(acme.id)
    assert any(version == old_version for version, _, _ in services.reader.folds.held(acme.id))
    generate_focus_export(export, end_month=END, months=3, rows_per_month=50_000, seed=7)  # other rows, same months
    assert sync_and_wait(client, acme.id, source["id"], acme.admin)["status"] == "succeeded"
    answer = services.reader.costs(query, scope)
    assert answer.rows == _rows_reader(services).costs(query, scope).rows
    services.reader.folds.settle()
    assert {version for version, _, _ in services.reader.folds.held(acme.id)} == {services.reader.version(acme.id)}


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_fold_that_would_not_shrink_the_rows_is_not_kept(client, make_tenant, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.allowed_local_roots = [tmp_path]
    globex = make_tenant("globex")
    month = current_month()
    write_csv(tmp_path / "one-row-per-resource" / "a.csv", [focus_row(month, "1.25", ResourceId=f"r-{n}") for n in range(400)])
    base = f"/api/v1/tenants/{globex.id}"
    source = client.post(f"{base}/billing-sources", headers=auth(globex.admin), json={"provider": "aws", "source_uri": str(tmp_path / "one-row-per-resource")}).json()
    assert sync_and_wait(client, globex.id, source["id"], globex.admin)["status"] == "succeeded"
    services, scope = client.app.state.services, Scope(globex.id)
    query = CostQuery(granularity="day", group_by=["ResourceId"], start=END, top=10)
    first = services.reader.costs(query, scope)
    kept = [row.groups[0] for row in first.rows if not row.other]
    assert kept == sorted(f"r-{n}" for n in range(400))[:10], "ties in cost are ordered by the group, so an answer repeats"
    services.reader.folds.settle()
    assert services.reader.folds.held(globex.id) == []  # 400 rows would fold into 400
    finer = Reads(frozenset({"ResourceId", "SkuId"}), metrics=frozenset({"EffectiveCost"}))
    assert services.reader.folds.table_for(globex.id, services.reader.version(globex.id) or 0, [], finer) is None
    services.reader.folds.settle()
    assert services.reader.folds.held(globex.id) == [], "a finer fold than one refused was built"
    services.reader._cache = type(services.reader._cache)(0)
    again = services.reader.costs(query, scope)
    assert again.rows == first.rows and sum(row.cost for row in again.rows) == Decimal("500.00")
    # A refusal holds for its table version only: after a sync of many rows per resource the same kind folds well.
    write_csv(tmp_path / "many-rows-per-resource" / "a.csv", [focus_row(month, "0.50", ResourceId=f"r-{n % 10}") for n in range(4000)])
    bigger = client.post(f"{base}/billing-sources", headers=auth(globex.admin), json={"provider": "aws", "source_uri": str(tmp_path / "many-rows-per-resource")}).json()
    assert sync_and_wait(client, globex.id, bigger["id"], globex.admin)["status"] == "succeeded"
    services.reader.costs(query, scope)
    services.reader.folds.settle()
    assert [(version, rows) for version, _, rows in services.reader.folds.held(globex.id)] == [(services.reader.version(globex.id), 410)]
    folded = services.reader.costs(query, scope)
    assert folded.rows == _rows_reader(services).costs(query, scope).rows and sum(row.cost for row in folded.rows) == Decimal("2500.00")
