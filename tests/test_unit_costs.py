"""Unit costs in costs/query: per group where the metric has matching labels, else against the metric total;
filters on labelled dimensions filter the metric; gaps are null, never zero or infinity."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import auth
from costlake.cli.main import app
from unit_costs_data import load_costs


@pytest.fixture
def acme(client, make_tenant, settings, tmp_path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme")
    load_costs(client, settings, tmp_path, tenant.id, tenant.admin)
    metrics = f"/api/v1/tenants/{tenant.id}/metrics"
    assert client.post(metrics, headers=auth(tenant.admin), json={"name": "requests", "unit": "requests"}).status_code == 201
    written = client.post(f"{metrics}/requests/values", headers=auth(tenant.admin), json={"values": [
        {"date": "2026-11-02", "value": "1000", "labels": {"team": "payments"}},
        {"date": "2026-11-02", "value": "500", "labels": {"team": "search"}},
        {"date": "2026-11-03", "value": "1100", "labels": {"team": "payments"}},
        {"date": "2026-11-03", "value": "0", "labels": {"team": "search"}},
    ]})
    assert written.status_code == 200, written.text
    return tenant


def query(client, tenant, **body):  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/tenants/{tenant.id}/costs/query", headers=auth(tenant.member),
                           json={"start": "2026-11-01", "end": "2026-12-01", **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_per_group_where_labels_match(client, acme) -> None:  # type: ignore[no-untyped-def]
    result = query(client, acme, granularity="day", group_by=["tag:team"], unit_metric="requests", unit_scale=1000)
    got = {(r["period"], r["tag:team"]): (r["cost"], r["unit_cost"]) for r in result["rows"]}
    assert got == {
        ("2026-11-02", "payments"): ("120.00", "120"),
        ("2026-11-02", "search"): ("50.00", "100"),
        ("2026-11-03", "payments"): ("110.00", "100"),
        ("2026-11-03", "search"): ("60.00", None),  # the metric is 0 that day: a gap, not infinity
        ("2026-11-04", "payments"): ("90.00", None),  # no metric value: a gap, not zero
        ("2026-11-04", "search"): ("40.00", None),
    }
    assert result["unit_metric"] == {"name": "requests", "unit": "requests", "aggregation": "sum", "scale": 1000, "matched_dimensions": ["tag:team"]}
    assert result["unit_totals"] == {"USD": "180.769230769"}  # 470 / 2.6, to 12 significant digits


def test_against_the_metric_total_when_no_label_matches(client, acme) -> None:  # type: ignore[no-untyped-def]
    result = query(client, acme, granularity="day", group_by=["ServiceName"], unit_metric="requests", unit_scale=1000)
    got = {(r["period"], r["ServiceName"]): r["unit_cost"] for r in result["rows"]}
    assert got == {
        ("2026-11-02", "Compute"): "100",  # 150 / 1.5
        ("2026-11-02", "Storage"): "13.3333333333",
        ("2026-11-03", "Compute"): "154.545454545",  # 170 / 1.1
        ("2026-11-04", "Compute"): None,
    }
    assert result["unit_metric"]["matched_dimensions"] == []


def test_filters_on_a_labelled_dimension_filter_the_metric(client, acme) -> None:  # type: ignore[no-untyped-def]
    result = query(client, acme, granularity="month", filters=[{"dimension": "tag:team", "op": "eq", "values": ["payments"]}],
                   unit_metric="requests", unit_scale=1000)
    (row,) = result["rows"]
    assert row["cost"] == "320.00" and row["unit_cost"] == "152.380952381"  # 320 / 2.1


def test_avg_aggregation_and_top_n_other(client, acme) -> None:  # type: ignore[no-untyped-def]
    client.put(f"/api/v1/tenants/{acme.id}/metrics/requests", headers=auth(acme.admin), json={"aggregation": "avg"})
    (row,) = query(client, acme, granularity="month", unit_metric="requests", unit_scale=1000)["rows"]
    assert row["unit_cost"] == "361.538461538"  # 470 / (avg(1500, 1100) / 1000)
    rows = query(client, acme, granularity="none", group_by=["tag:team"], top=1, unit_metric="requests")["rows"]
    assert {r["other"]: r["unit_cost"] is None for r in rows} == {False: False, True: True}


def test_bad_unit_requests_are_422_and_plain_queries_unchanged(client, acme) -> None:  # type: ignore[no-untyped-def]
    for body, field in (({"unit_metric": "users"}, "unit_metric"), ({"unit_metric": "requests", "unit_scale": 0}, "unit_scale")):
        response = client.post(f"/api/v1/tenants/{acme.id}/costs/query", headers=auth(acme.member), json=body)
        assert response.status_code == 422 and field in response.json()["detail"][0]["loc"]
    plain = query(client, acme, granularity="month")
    assert set(plain) == {"rows", "totals", "elapsed_ms"} and "unit_cost" not in plain["rows"][0]


def test_cli_per_metric(acme, settings) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    args = ["costs", "query", "--tenant", "acme", "--start", "2026-11-01", "--end", "2026-12-01", "--granularity", "day",
            "--group-by", "tag:team", "--per", "requests", "--scale", "1000"]
    result = runner.invoke(app, [*args, "--output", "json"])
    assert result.exit_code == 0, result.stderr
    assert {r["unit_cost"] for r in json.loads(result.stdout)["rows"]} == {"120", "100", None}
    table = runner.invoke(app, args)
    assert "unit_cost" in table.stdout and "180.769230769" in table.stdout
