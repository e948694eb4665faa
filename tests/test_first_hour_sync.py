"""A newcomer's first syncs (issue 10): an export older than the first-sync backfill says what it holds and how to
load it; data health does not call a source healthy whose newest rows are old."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import auth, sync_and_wait
from costlake.app import create_app
from costlake.catalog import open_catalog
from costlake.catalog.tenants import create_tenant, create_token
from costlake.months import add_months, current_month
from costlake.settings import Settings
from costlake.sync.empty import month_ranges
from focus_files import focus_row, write_csv
from test_costs_api import loaded  # noqa: F401
from test_costs_api import query as cost_query

NOW = current_month()


@pytest.fixture
def acme(make_tenant):  # type: ignore[no-untyped-def]
    return make_tenant("acme")


def add_source(client, export: Path) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(export)})
    assert response.status_code == 201, response.text
    return response.json()


def test_month_ranges_fold_consecutive_months() -> None:
    assert month_ranges(["2024-10", "2024-09", "2024-11", "2025-02"]) == "2024-09..2024-11, 2025-02"
    assert month_ranges(["2024-12", "2025-01"]) == "2024-12..2025-01"


def test_an_export_older_than_the_backfill_names_its_months_the_sync_scope_and_the_fix(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    oldest, newest = add_months(NOW, -16), add_months(NOW, -14)
    export = tmp_path / "export"
    write_csv(export / "old.csv", [focus_row(oldest, "1"), focus_row(add_months(NOW, -15), "2"), focus_row(newest, "3")])
    source = add_source(operator_client, export)

    first = sync_and_wait(operator_client, "acme", source["id"])
    assert first["status"] == "warning" and first["row_count"] == 0
    (warning,) = first["warnings"]
    assert f"the export holds {oldest}..{newest}" in warning
    assert f"this sync covered {add_months(NOW, -11)}..{NOW} (first-sync backfill of 12 months)" in warning
    assert f"--from {oldest}-01" in warning and "COSTLAKE_INITIAL_BACKFILL_MONTHS" in warning

    # the fix the message gives works
    again = sync_and_wait(operator_client, "acme", source["id"], body={"from": f"{oldest}-01"})
    assert again["status"] == "succeeded" and again["months"] == [oldest, add_months(NOW, -15), newest]


def test_a_from_sync_past_the_export_says_so_without_the_backfill_setting(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    write_csv(export / "old.csv", [focus_row(add_months(NOW, -6), "1")])
    source = add_source(operator_client, export)
    run = sync_and_wait(operator_client, "acme", source["id"], body={"from": f"{add_months(NOW, -2)}-01"})
    (warning,) = run["warnings"]
    assert f"the export holds {add_months(NOW, -6)};" in warning and f"(from {add_months(NOW, -2)}-01)" in warning
    assert "COSTLAKE_INITIAL_BACKFILL_MONTHS" not in warning


def test_an_export_with_no_rows_at_all_says_so(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    write_csv(export / "empty.csv", [], header=["BilledCost", "ChargePeriodStart", "BillingCurrency"])
    source = operator_client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(export), "format": "focus"}
    ).json()
    run = sync_and_wait(operator_client, "acme", source["id"])
    assert run["status"] == "warning" and "holds no rows at all" in run["warnings"][0]


def test_data_health_calls_a_source_with_only_old_months_stale(client, operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    old, current = tmp_path / "old", tmp_path / "current"
    write_csv(old / "a.csv", [focus_row(add_months(NOW, -26), "1"), focus_row(add_months(NOW, -25), "2")])
    write_csv(current / "a.csv", [focus_row(add_months(NOW, -1), "1"), focus_row(NOW, "2")])
    old_source, current_source = add_source(operator_client, old), add_source(operator_client, current)
    assert sync_and_wait(operator_client, "acme", current_source["id"])["status"] == "succeeded"

    def health() -> dict[str, dict]:
        report = client.get("/api/v1/tenants/acme/data-health", headers=auth(acme.member)).json()["sources"]
        return {entry["id"]: entry for entry in report}

    # synced with a warning and no rows: not healthy
    sync_and_wait(operator_client, "acme", old_source["id"])
    entry = health()[old_source["id"]]
    assert entry["stale"] is True and "holds no rows" in entry["stale_reason"]
    # loaded from its first month: rows, but two years old
    run = sync_and_wait(operator_client, "acme", old_source["id"], body={"from": f"{add_months(NOW, -26)}-01"})
    assert run["status"] == "succeeded", run
    entry = health()[old_source["id"]]
    assert entry["stale"] is True and f"newest billing month with rows is {add_months(NOW, -25)}" in entry["stale_reason"]
    fresh = health()[current_source["id"]]
    assert fresh["stale"] is False and fresh["stale_reason"] is None


def test_rows_are_due_within_40_days_of_their_month_end() -> None:
    from datetime import UTC, datetime, timedelta

    from costlake.catalog.models import BillingSource
    from costlake.query.health import stale_reason

    now = datetime(2026, 12, 9, 12, tzinfo=UTC)
    source = BillingSource(provider="aws", format="focus", last_success_at=now - timedelta(hours=1))
    hour = timedelta(days=7)  # the sync interval: no staleness from old successes here
    assert stale_reason(source, "2026-11", hour, now) is None
    assert stale_reason(source, "2026-10", hour, now.replace(day=10)) is None  # October ended Nov 1: 39 days
    assert "2026-10" in (stale_reason(source, "2026-10", hour, now.replace(day=11, hour=1)) or "")
    metadata = BillingSource(provider="gcp", format="gcp-cud-metadata", last_success_at=now)
    assert stale_reason(metadata, None, hour, now) is None  # commitments: no cost rows expected


def test_dimension_values_count_only_the_costs_in_the_given_range(client, loaded):  # type: ignore[no-untyped-def]
    acme, *_ = loaded
    start, end = f"{NOW}-01", f"{add_months(NOW, 1)}-01"
    path = "/api/v1/tenants/acme/costs/dimension-values"
    ranged = client.get(path, headers=auth(acme.member), params={"dimension": "ServiceName", "start": start, "end": end, "limit": 500})
    assert ranged.status_code == 200, ranged.text
    expected = cost_query(client, acme.member, group_by=["ServiceName"], granularity="none", start=start, end=end)
    by_service: dict[str, dict[str, Decimal]] = {}
    for row in expected["rows"]:
        by_service.setdefault(row["ServiceName"], {})[row["currency"]] = Decimal(row["cost"])
    assert {v["value"]: {c: Decimal(a) for c, a in v["costs"].items()} for v in ranged.json()["values"]} == by_service
    whole = client.get(path, headers=auth(acme.member), params={"dimension": "ServiceName", "limit": 500}).json()["values"]
    assert whole != ranged.json()["values"]  # three months, not one
    lonely = client.get(path, headers=auth(acme.member), params={"dimension": "ServiceName", "start": start})
    assert lonely.status_code == 422 and "together" in lonely.text
    backwards = client.get(path, headers=auth(acme.member), params={"dimension": "ServiceName", "start": end, "end": start})
    assert backwards.status_code == 422


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_home_whose_path_has_a_space_and_a_percent_sign_answers_queries(tmp_path, monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    # Delta writes such paths percent-encoded in its log ("cost%20data%20100%25"): every query read no file (500).
    monkeypatch.setenv("COSTLAKE_HOME", str(tmp_path / "cost data 100%"))
    home = Settings()
    home.allowed_local_roots = [tmp_path]
    catalog = open_catalog(home)
    tenant = create_tenant(catalog, "acme")
    _, admin = create_token(catalog, tenant.id, "admin", "test admin")
    catalog.close()
    export = tmp_path / "export"
    write_csv(export / "a.csv", [focus_row(NOW, "1.25", Tags='{"Team": "payments"}'), focus_row(NOW, "2.50", Tags='{"team": "search"}')])
    with TestClient(create_app(home)) as client:
        base = f"/api/v1/tenants/{tenant.id}"
        source = client.post(f"{base}/billing-sources", headers=auth(admin), json={"provider": "aws", "source_uri": str(export)}).json()
        assert sync_and_wait(client, tenant.id, source["id"], admin)["status"] == "succeeded"
        answer = client.post(f"{base}/costs/query", headers=auth(admin), json={"group_by": ["tag:team"], "granularity": "none", "start": f"{NOW}-01"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["totals"] == {"USD": "3.75"}
        dimensions = client.get(f"{base}/costs/dimensions", headers=auth(admin)).json()
        assert {tag["key"]: tag["coverage"] for tag in dimensions["tag_keys"]} == {"Team": 0.3333, "team": 0.6667}
