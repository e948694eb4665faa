"""The cost query API, dimensions, dimension values and data health, checked against hand-written DuckDB SQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import auth, sync_and_wait
from costlake.months import add_months, current_month
from costlake.samples.generator import generate_focus_export
from costlake.store import Lake
from focus_files import focus_row, write_csv

NOW = current_month()
FIRST = date.fromisoformat(add_months(NOW, -2) + "-01")
END = date.fromisoformat(add_months(NOW, 1) + "-01")


@pytest.fixture
def loaded(operator_client, make_tenant, tmp_path: Path, settings):  # type: ignore[no-untyped-def]
    """Tenant acme with three months of generated FOCUS data, synced."""
    acme = make_tenant("acme")
    generate_focus_export(tmp_path / "export", end_month=date.fromisoformat(NOW + "-01"), months=3, rows_per_month=1500)
    source = operator_client.post(
        "/api/v1/tenants/acme/billing-sources",
        json={"provider": "aws", "source_uri": str(tmp_path / "export"), "name": "main export"},
    ).json()
    run = sync_and_wait(operator_client, "acme", source["id"])
    assert run["status"] == "succeeded", run
    return acme, source, run, Lake(settings).data_files(acme.id)


def query(client, token, **body):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/tenants/acme/costs/query", headers=auth(token), json=body)
    assert response.status_code == 200, response.text
    return response.json()


def by_hand(files: list[str], sql: str, **params) -> list[tuple]:  # type: ignore[no-untyped-def]
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    view = "read_parquet($files, hive_partitioning = true, hive_types = {'x_SourceId': VARCHAR, 'x_BillingMonth': VARCHAR})"
    return connection.execute(sql.replace("COSTS", view), {"files": files, **params}).fetchall()


def test_billing_basis_totals_match_the_sync_run(client, loaded):  # type: ignore[no-untyped-def]
    acme, _, run, _ = loaded
    result = query(client, acme.member, metric="BilledCost", time_basis="billing", granularity="month", start=FIRST.isoformat(), end=END.isoformat())
    per_month: dict[str, dict[str, str]] = {}
    for row in result["rows"]:
        per_month.setdefault(row["period"][:7], {})[row["currency"]] = row["cost"]
    assert {m: {c: Decimal(v) for c, v in cs.items()} for m, cs in per_month.items()} == {
        m: {c: Decimal(v) for c, v in cs.items()} for m, cs in run["billed_cost_by_month"].items()
    }
    assert set(result["totals"]) == {"USD", "EUR"}  # never added together


def test_daily_by_service_matches_hand_written_sql(client, loaded):  # type: ignore[no-untyped-def]
    acme, _, _, files = loaded
    start, end = date.fromisoformat(NOW + "-01"), END
    result = query(client, acme.admin, granularity="day", group_by=["ServiceName"], start=start.isoformat(), end=end.isoformat())
    expected = by_hand(
        files,
        "SELECT CAST(date_trunc('day', ChargePeriodStart) AS DATE)::VARCHAR, ServiceName, BillingCurrency, sum(EffectiveCost) "
        "FROM COSTS WHERE ChargePeriodStart >= $s AND ChargePeriodStart < $e GROUP BY ALL",
        s=f"{start}T00:00:00Z", e=f"{end}T00:00:00Z",
    )
    got = {(r["period"], r["ServiceName"], r["currency"]): Decimal(r["cost"]) for r in result["rows"]}
    assert got == {(p, s, c): v for p, s, c, v in expected}
    assert all(row["other"] is False for row in result["rows"])


def test_weeks_start_on_monday_and_none_has_no_period(client, loaded):  # type: ignore[no-untyped-def]
    acme, *_ = loaded
    weekly = query(client, acme.admin, granularity="week", start=FIRST.isoformat(), end=END.isoformat())
    assert weekly["rows"] and all(date.fromisoformat(r["period"]).weekday() == 0 for r in weekly["rows"])
    flat = query(client, acme.admin, granularity="none", start=FIRST.isoformat(), end=END.isoformat())
    assert {r["period"] for r in flat["rows"]} == {None}
    assert flat["totals"] == weekly["totals"]


def test_group_by_tag_filter_and_top_n_with_other(client, loaded):  # type: ignore[no-untyped-def]
    acme, _, _, files = loaded
    window = {"start": FIRST.isoformat(), "end": END.isoformat(), "granularity": "none"}
    everything = query(client, acme.admin, group_by=["tag:team"], **window)
    top = query(client, acme.admin, group_by=["tag:team"], top=2, **window)
    assert top["totals"] == everything["totals"]  # "other" keeps the total whole
    for currency in everything["totals"]:
        kept = [r for r in top["rows"] if r["currency"] == currency and not r["other"]]
        rest = [r for r in top["rows"] if r["currency"] == currency and r["other"]]
        assert len(kept) == 2 and len(rest) == 1 and rest[0]["tag:team"] is None
        largest = sorted((Decimal(r["cost"]) for r in everything["rows"] if r["currency"] == currency), reverse=True)[:2]
        assert sorted((Decimal(r["cost"]) for r in kept), reverse=True) == largest

    aws = query(client, acme.admin, filters=[{"dimension": "ProviderName", "op": "eq", "values": ["AWS"]}], **window)
    expected = by_hand(files, "SELECT BillingCurrency, sum(EffectiveCost) FROM COSTS WHERE ProviderName = 'AWS' "
                       "AND ChargePeriodStart >= $s AND ChargePeriodStart < $e GROUP BY 1",
                       s=f"{FIRST}T00:00:00Z", e=f"{END}T00:00:00Z")
    assert {c: Decimal(v) for c, v in aws["totals"].items()} == {c: v for c, v in expected}

    untagged = query(client, acme.admin, filters=[{"dimension": "tag:team", "op": "missing"}], **window)
    tagged = query(client, acme.admin, filters=[{"dimension": "tag:team", "op": "not_in", "values": ["no-such-team"]}], **window)
    assert tagged["totals"] == everything["totals"]
    payments = query(client, acme.admin, filters=[{"dimension": "tag:team", "op": "in", "values": ["payments"]}], **window)
    others = query(client, acme.admin, filters=[{"dimension": "tag:team", "op": "ne", "values": ["payments"]}], **window)
    for currency, total in everything["totals"].items():
        assert Decimal(payments["totals"].get(currency, "0")) + Decimal(others["totals"].get(currency, "0")) == Decimal(total)
        assert Decimal(untagged["totals"].get(currency, "0")) <= Decimal(others["totals"].get(currency, "0"))
    contains = query(client, acme.admin, filters=[{"dimension": "ServiceName", "op": "contains", "values": ["COMPUTE"]}], **window)
    assert contains["rows"]


def test_group_by_source_shows_its_name_and_filters_by_name(client, loaded):  # type: ignore[no-untyped-def]
    acme, _source, *_ = loaded
    result = query(client, acme.admin, group_by=["source"], granularity="none", start=FIRST.isoformat(), end=END.isoformat(),
                   filters=[{"dimension": "source", "op": "eq", "values": ["main export"]}])
    assert {row["source"] for row in result["rows"]} == {"main export"}


@pytest.mark.parametrize(
    "hostile",
    ["x'; DROP TABLE costs; --", 'a"b', "team/sub", "ключ", "%", "\\", "'", ";"],
)
def test_hostile_values_are_only_ever_parameters(client, loaded, hostile):  # type: ignore[no-untyped-def]
    acme, *_ = loaded
    result = query(client, acme.admin, group_by=[f"tag:{hostile}"], filters=[
        {"dimension": f"tag:{hostile}", "op": "in", "values": [hostile, "'); SELECT 1; --"]},
        {"dimension": "ServiceName", "op": "contains", "values": [hostile]},
    ])
    assert result["rows"] == [] and result["totals"] == {}
    values = client.get("/api/v1/tenants/acme/costs/dimension-values", headers=auth(acme.admin),
                        params={"dimension": f"tag:{hostile}", "search": hostile})
    assert values.status_code == 200 and values.json()["values"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"group_by": ["ServiceName; DROP TABLE x"]}, "group_by"),
        ({"group_by": ["a", "b", "c", "d"]}, "group_by"),
        ({"metric": "Cost'--"}, "metric"),
        ({"filters": [{"dimension": "nope", "op": "eq", "values": ["x"]}]}, "dimension"),
        ({"filters": [{"dimension": "ServiceName", "op": "drop", "values": ["x"]}]}, "op"),
        ({"filters": [{"dimension": "ServiceName", "op": "eq", "values": []}]}, "filters"),
        ({"start": "2026-10-01", "end": "2026-09-01"}, "body"),
        ({"granularity": "hour"}, "granularity"),
        ({"time_basis": "billing", "granularity": "day"}, "body"),
        ({"top": 0}, "top"),
    ],
)
def test_bad_queries_are_422_naming_the_problem(client, make_tenant, body, field):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    response = client.post("/api/v1/tenants/acme/costs/query", headers=auth(acme.admin), json=body)
    assert response.status_code == 422, response.text
    assert any(field in [str(part) for part in error["loc"]] or field == "body" for error in response.json()["detail"])


def test_dimensions_with_tag_coverage_and_paged_values(client, loaded):  # type: ignore[no-untyped-def]
    acme, _, _, files = loaded
    body = client.get("/api/v1/tenants/acme/costs/dimensions", headers=auth(acme.member)).json()
    assert {"name": "ServiceName", "label": "Service"} in body["dimensions"]
    coverage = {entry["key"]: entry["coverage"] for entry in body["tag_keys"]}
    expected = by_hand(files, "SELECT sum(abs(EffectiveCost)) FILTER (WHERE Tags['team'] IS NOT NULL) / sum(abs(EffectiveCost)) FROM COSTS")[0][0]
    assert coverage["team"] == pytest.approx(float(expected), abs=1e-4)

    first = client.get("/api/v1/tenants/acme/costs/dimension-values", headers=auth(acme.member),
                       params={"dimension": "ServiceName", "limit": 3}).json()
    second = client.get("/api/v1/tenants/acme/costs/dimension-values", headers=auth(acme.member),
                        params={"dimension": "ServiceName", "limit": 3, "cursor": first["next_cursor"]}).json()
    assert len(first["values"]) == 3 and not {v["value"] for v in first["values"]} & {v["value"] for v in second["values"]}
    bad = client.get("/api/v1/tenants/acme/costs/dimension-values", headers=auth(acme.member), params={"dimension": "x;--"})
    assert bad.status_code == 422


def test_access_rules_for_costs_and_health(client, loaded, make_tenant):  # type: ignore[no-untyped-def]
    acme, *_ = loaded
    globex = make_tenant("globex")
    assert client.post("/api/v1/tenants/acme/costs/query", json={}).status_code == 401
    assert client.post("/api/v1/tenants/acme/costs/query", headers=auth(globex.admin), json={}).status_code == 404
    assert client.get("/api/v1/tenants/acme/data-health", headers=auth(globex.member)).status_code == 404
    assert client.get("/api/v1/tenants/acme/data-health", headers=auth(acme.member)).status_code == 200
    assert query(client, acme.member)["rows"]
    # globex's own table is empty: its queries see none of acme's rows
    empty = client.post("/api/v1/tenants/globex/costs/query", headers=auth(globex.admin), json={}).json()
    assert empty["rows"] == [] and empty["totals"] == {}


def test_data_health_reports_months_rows_cost_freshness_and_staleness(client, operator_client, loaded, settings):  # type: ignore[no-untyped-def]
    acme, source, run, _ = loaded
    broken = operator_client.post("/api/v1/tenants/acme/billing-sources",
                                  json={"provider": "gcp", "source_uri": "gs://nowhere/x", "validate": False})
    report = client.get("/api/v1/tenants/acme/data-health", headers=auth(acme.member)).json()["sources"]
    main = next(entry for entry in report if entry["id"] == source["id"])
    assert main["name"] == "main export" and main["status"] == "succeeded" and main["stale"] is False
    assert {m["month"]: m["billed_cost"] for m in main["months"]} == run["billed_cost_by_month"]
    assert sum(m["rows"] for m in main["months"]) == run["row_count"]
    assert main["freshness"] and main["freshness"].endswith("Z")
    never = next(entry for entry in report if entry["id"] == broken.json()["id"])
    assert never["stale"] is True and never["months"] == [] and never["status"] is None

    settings.sync_interval = timedelta(seconds=0)
    report = client.get("/api/v1/tenants/acme/data-health", headers=auth(acme.member)).json()["sources"]
    assert next(entry for entry in report if entry["id"] == source["id"])["stale"] is True


def test_a_new_sync_shows_in_queries_at_once(client, operator_client, make_tenant, tmp_path):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_csv(tmp_path / "e" / "a.csv", [focus_row(NOW, "5")])
    source = operator_client.post("/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(tmp_path / "e")}).json()
    sync_and_wait(operator_client, "acme", source["id"])
    assert query(client, acme.admin, granularity="none")["totals"] == {"USD": "5.00"}
    dimensions = "/api/v1/tenants/acme/costs/dimensions"
    assert [tag["key"] for tag in client.get(dimensions, headers=auth(acme.admin)).json()["tag_keys"]] == ["team"]
    write_csv(tmp_path / "e" / "a.csv", [focus_row(NOW, "6", Tags='{"owner": "ops"}')])
    sync_and_wait(operator_client, "acme", source["id"])
    assert query(client, acme.admin, granularity="none")["totals"] == {"USD": "6.00"}
    # tag coverage is cached per table version: a new sync shows in it at once
    assert [tag["key"] for tag in client.get(dimensions, headers=auth(acme.admin)).json()["tag_keys"]] == ["owner"]
