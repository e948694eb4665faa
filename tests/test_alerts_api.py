"""Alerts over REST, on SQLite and PostgreSQL: anomaly monitors, anomalies with root causes, budgets with forecasts,
backtests, roles and tenants, and two workers evaluating one tenant at once."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from alerts_data import TODAY, load, usage_until_today
from conftest import auth
from costlake.alerts.evaluation import AlertContext, evaluate_tenant
from costlake.catalog import alerts as rows
from costlake.catalog import open_catalog
from costlake.catalog.models import AlertNotice
from costlake.errors import Conflict
from costlake.query.engine import CostReader
from costlake.samples.daily_usage import SeriesSpec
from costlake.store import Lake


def _base(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}"


@pytest.fixture
def loaded(settings, make_tenant, tmp_path):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    usage, injection = usage_until_today()
    return acme, load(settings, acme.id, tmp_path / "usage", usage, injection=injection)


MONITOR = {"name": "by service", "split_by": ["ServiceName", "SubAccountId"], "min_daily_impact": "10", "min_percent": "5"}


def test_a_monitor_finds_the_injected_anomaly_explains_it_and_keeps_one_growing_record(client, loaded) -> None:  # type: ignore[no-untyped-def]
    acme, data = loaded
    base, admin, member = _base(acme.name), auth(acme.admin), auth(acme.member)
    created = client.post(f"{base}/anomaly-monitors", headers=admin, json=MONITOR)
    assert created.status_code == 201, created.text
    monitor = created.json()
    assert monitor["split_by"] == ["ServiceName", "SubAccountId"] and monitor["min_daily_impact"] == "10"

    evaluated = client.post(f"{base}/anomaly-monitors/{monitor['id']}/evaluate", headers=admin)
    assert evaluated.status_code == 200, evaluated.text
    assert evaluated.json()["anomalies_opened"] == 1

    page = client.get(f"{base}/anomalies", headers=member, params={"monitor_id": monitor["id"]}).json()
    assert set(page) == {"items", "next_cursor"}
    (anomaly,) = page["items"]
    assert {"id", "monitor_id", "series", "start_date", "last_date", "expected", "actual", "impact", "currency", "status", "root_causes", "events"} <= set(anomaly)
    assert anomaly["series"] == {"ServiceName": "BigQuery", "SubAccountId": "project-x"}
    assert abs((TODAY - timedelta(days=5) - date.fromisoformat(anomaly["start_date"])).days) <= 1
    assert anomaly["last_date"] == data.horizon.isoformat() and anomaly["active"] is True
    assert anomaly["status"] == "open" and anomaly["currency"] == "USD"
    assert Decimal(anomaly["impact"]) == Decimal(anomaly["actual"]) - Decimal(anomaly["expected"]) > 0
    # Root cause: the injected SKU and its resource lead; the change is volume (the quantity grew at the same price).
    top = anomaly["root_causes"][0]
    assert (top["dimension"], top["value"]) in {("SkuId", "compute"), ("ResourceId", "project-x/BigQuery/compute")}
    assert {"dimension", "value", "delta"} <= set(top) and Decimal(top["delta"]) > Decimal(anomaly["impact"]) * Decimal("0.8")
    assert Decimal(anomaly["drivers"]["volume"]) > 10 * abs(Decimal(anomaly["drivers"]["rate"]))
    assert anomaly["events"][0]["type"] == "opened"
    assert anomaly["daily"][-1]["date"] == data.horizon.isoformat() and anomaly["daily"][-1]["upper"] is not None

    # Re-running changes nothing: one record, no second "opened" notice.
    again = client.post(f"{base}/anomaly-monitors/{monitor['id']}/evaluate", headers=admin).json()
    assert again["anomalies_opened"] == 0 and not any(key.endswith(":opened") for key in again["notices"])
    assert len(client.get(f"{base}/anomalies", headers=member).json()["items"]) == 1

    # Members read and acknowledge; only admins resolve and snooze.
    acked = client.post(f"{base}/anomalies/{anomaly['id']}/acknowledge", headers=member, json={"note": "looking"})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert acked.json()["events"][-1]["type"] == "acknowledged" and acked.json()["events"][-1]["by"].startswith("token:")
    assert client.post(f"{base}/anomalies/{anomaly['id']}/resolve", headers=member, json={"reason": "expected"}).status_code == 403
    assert client.post(f"{base}/anomalies/{anomaly['id']}/snooze", headers=admin, json={"until": "2001-01-01"}).status_code == 422
    assert client.post(f"{base}/anomalies/{anomaly['id']}/resolve", headers=admin, json={"reason": "maybe"}).status_code == 422
    resolved = client.post(f"{base}/anomalies/{anomaly['id']}/resolve", headers=admin, json={"reason": "expected"})
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolution"] == "expected"
    assert [a["id"] for a in client.get(f"{base}/anomalies", headers=member, params={"status": "resolved"}).json()["items"]] == [anomaly["id"]]

    # The tenant's default monitor (by service and sub account, no channels) exists once data does.
    monitors = client.get(f"{base}/anomaly-monitors", headers=member).json()
    assert [m["default"] for m in monitors].count(True) == 1


def test_monitor_input_roles_and_tenants(client, loaded, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, _ = loaded
    other = make_tenant("other")
    base, admin, member = _base(acme.name), auth(acme.admin), auth(acme.member)
    assert client.post(f"{base}/anomaly-monitors", headers=member, json=MONITOR).status_code == 403
    assert "anomaly monitors are managed by the tenant's admins" in client.post(f"{base}/anomaly-monitors", headers=member, json=MONITOR).text
    assert client.get(f"{base}/anomalies", headers=auth(other.admin)).status_code == 404
    assert client.get(f"{base}/budgets", headers=auth(other.member)).status_code == 404
    bad = [
        {**MONITOR, "split_by": ["ServiceName", "SubAccountId", "RegionId"]},
        {**MONITOR, "split_by": ["Colour"]},
        {**MONITOR, "channels": ["no-such-channel"]},
        {**MONITOR, "sensitivity": "extreme"},
        {**MONITOR, "filters": [{"dimension": "ServiceName", "op": "eq", "values": []}]},
    ]
    for body in bad:
        answer = client.post(f"{base}/anomaly-monitors", headers=admin, json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert client.post(f"{base}/anomaly-monitors", headers=admin, json=MONITOR).status_code == 201
    duplicate = client.post(f"{base}/anomaly-monitors", headers=admin, json=MONITOR)
    assert duplicate.status_code == 422 and "already exists" in duplicate.text
    assert client.post(f"{base}/anomaly-monitors/nope/evaluate", headers=admin).status_code == 404


def test_preview_backtests_a_monitor_before_it_is_saved(client, loaded) -> None:  # type: ignore[no-untyped-def]
    acme, _ = loaded
    base, admin = _base(acme.name), auth(acme.admin)
    body = {**MONITOR, "start": (TODAY - timedelta(days=40)).isoformat(), "end": TODAY.isoformat()}
    preview = client.post(f"{base}/anomaly-monitors/preview", headers=admin, json=body)
    assert preview.status_code == 200, preview.text
    found = [item for item in preview.json()["items"] if item["series"] == {"ServiceName": "BigQuery", "SubAccountId": "project-x"}]
    assert len(found) == 1 and found[0]["root_causes"][0]["value"] in {"compute", "project-x/BigQuery/compute"}
    assert client.get(f"{base}/anomaly-monitors", headers=admin).json() == []  # nothing saved
    too_long = client.post(f"{base}/anomaly-monitors/preview", headers=admin, json={**body, "start": "2020-01-01"})
    assert too_long.status_code == 422 and "at most 366 days" in too_long.text
    assert client.post(f"{base}/anomaly-monitors/preview", headers=auth(acme.member), json=body).status_code == 403


def test_budget_status_forecast_and_currencies(client, settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    usage, _ = usage_until_today(days=100, anomaly_days_ago=None)
    data = load(settings, acme.id, tmp_path / "usd", usage)
    euros, _ = usage_until_today(days=20, anomaly_days_ago=None, currency="EUR", series=[SeriesSpec("Cloud Storage", "project-eu", 50)])
    load(settings, acme.id, tmp_path / "eur", euros, name="eu")
    base, admin, member = _base(acme.name), auth(acme.admin), auth(acme.member)
    body = {
        "name": "everything", "filters": [], "period": "month", "amount": "1000000", "currency": "USD",
        "thresholds": [{"kind": "actual", "percent": 50}, {"kind": "forecast", "percent": 1}],
    }
    created = client.post(f"{base}/budgets", headers=admin, json=body)
    assert created.status_code == 201, created.text
    budget = created.json()
    assert budget["amount"] == "1000000.00" and budget["metric"] == "EffectiveCost"

    # Weekday profile: 8+ weeks of history before the newest day.
    status = client.get(f"{base}/budgets/{budget['id']}", headers=member, params={"as_of": TODAY.isoformat()}).json()["status"]
    month_start = TODAY.replace(day=1)
    assert status["period_start"] == month_start.isoformat()
    assert Decimal(status["spend"]) == data.total(month_start, TODAY)  # exact: the store's decimals, USD only
    assert status["forecast_method"] == "weekday-profile" and Decimal(status["forecast"]) >= Decimal(status["spend"])
    assert Decimal(status["percent_used"]) == (Decimal(status["spend"]) * 100 / Decimal(1000000)).quantize(Decimal("0.01"))
    assert {"kind": "forecast", "percent": "1"} in status["crossed"] and {"kind": "actual", "percent": "50"} not in status["crossed"]
    if TODAY.day > 1:
        assert set(status["other_currencies"]) == {"EUR"}

    # Run-rate: 10 days into the data's first full month, without 8 weeks of history.
    first_full = (usage.start.replace(day=1) + timedelta(days=32)).replace(day=1)
    as_of = first_full + timedelta(days=9)
    early = client.get(f"{base}/budgets/{budget['id']}", headers=member, params={"as_of": as_of.isoformat()}).json()["status"]
    if (as_of - usage.start).days < 55:
        spend = data.total(first_full, as_of)
        days_in_month = ((first_full + timedelta(days=32)).replace(day=1) - first_full).days
        assert early["forecast_method"] == "run-rate"
        assert Decimal(early["forecast"]) == (spend / 10 * days_in_month).quantize(Decimal("0.01"))

    # Backtest of the thresholds.
    preview = client.post(f"{base}/budgets/preview", headers=admin, json={**body, "start": usage.start.isoformat(), "end": TODAY.isoformat()})
    assert preview.status_code == 200, preview.text
    periods = preview.json()["periods"]
    assert periods[0]["period_start"] == usage.start.replace(day=1).isoformat() and all(p["crossed"] for p in periods[1:])

    for bad in ({**body, "currency": "dollars"}, {**body, "amount": "-5"}, {**body, "period": "week"}, {**body, "thresholds": [{"kind": "actual", "percent": 0}]}):
        assert client.post(f"{base}/budgets", headers=admin, json={**bad, "name": "bad"}).status_code == 422
    assert client.post(f"{base}/budgets", headers=member, json={**body, "name": "m"}).status_code == 403
    assert client.delete(f"{base}/budgets/{budget['id']}", headers=member).status_code == 403
    assert client.delete(f"{base}/budgets/{budget['id']}", headers=admin).status_code == 204
    assert client.get(f"{base}/budgets/{budget['id']}", headers=admin).status_code == 404


def test_two_workers_evaluating_one_tenant_at_once_tell_everything_once(settings, loaded) -> None:  # type: ignore[no-untyped-def]
    acme, _ = loaded
    catalog = open_catalog(settings)
    lake = Lake(settings)
    try:
        assert rows.claim_evaluation(catalog, acme.id, "worker-a", timedelta(minutes=1))
        assert not rows.claim_evaluation(catalog, acme.id, "worker-b", timedelta(minutes=1))  # one at a time
        with pytest.raises(Conflict):
            evaluate_tenant(AlertContext(settings, catalog, CostReader(settings, lake)), acme.id, owner="worker-b")
        rows.release_evaluation(catalog, acme.id, "worker-a", None)

        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def worker(owner: str) -> None:
            context = AlertContext(settings, catalog, CostReader(settings, lake))
            barrier.wait()
            try:
                evaluate_tenant(context, acme.id, owner=owner)
                outcomes.append("ran")
            except Conflict:
                outcomes.append("busy")

        threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert "ran" in outcomes
        evaluate_tenant(AlertContext(settings, catalog, CostReader(settings, lake)), acme.id, owner="worker-c")
        with catalog.session() as session:
            keys = list(session.scalars(select(AlertNotice.key).where(AlertNotice.tenant_id == acme.id)))
        assert len(keys) == len(set(keys))
        assert len([k for k in keys if k.endswith(":opened")]) == 1
        anomalies, _ = rows.list_anomalies(catalog, acme.id, status=None, monitor_id=None, limit=50, cursor=None)
        assert len(anomalies) == 1
    finally:
        catalog.close()


def test_monitors_budgets_and_digests_scope_by_allocation_dimensions(client, loaded) -> None:  # type: ignore[no-untyped-def]
    """dim:<name> works wherever an explorer scope does: a monitor split by it, a budget filtered on it, a digest of a
    view grouped by it; before the rules define it, each says so with a 422."""
    acme, data = loaded
    base, admin = _base(acme.name), auth(acme.admin)
    by_team = {**MONITOR, "name": "by team", "split_by": ["dim:team"]}
    budget = {"name": "analytics", "filters": [{"dimension": "dim:team", "op": "eq", "values": ["analytics"]}], "period": "month",
              "amount": "1000000", "currency": "USD", "thresholds": [{"kind": "actual", "percent": 80}]}
    early = client.post(f"{base}/anomaly-monitors", headers=admin, json=by_team)
    assert early.status_code == 422 and "dim:team" in early.text and "no allocation rules" in early.text
    assert client.post(f"{base}/budgets", headers=admin, json=budget).status_code == 422

    team = {"name": "team", "rules": [{"when": [{"dimension": "SubAccountId", "op": "eq", "values": ["project-x"]}], "value": "analytics"},
                                      {"coalesce": ["team"]}]}
    assert client.put(f"{base}/allocation/draft", headers=admin, json={"dimensions": [team]}).status_code == 200
    assert client.post(f"{base}/allocation/publish", headers=admin).status_code == 200

    monitor = client.post(f"{base}/anomaly-monitors", headers=admin, json=by_team)
    assert monitor.status_code == 201, monitor.text
    evaluated = client.post(f"{base}/anomaly-monitors/{monitor.json()['id']}/evaluate", headers=admin)
    assert evaluated.status_code == 200 and evaluated.json()["anomalies_opened"] == 1, evaluated.text
    (anomaly,) = client.get(f"{base}/anomalies", headers=admin, params={"monitor_id": monitor.json()["id"]}).json()["items"]
    assert anomaly["series"] == {"dim:team": "analytics"}  # BigQuery and Compute Engine of project-x, summed
    assert abs((data.injection.start - date.fromisoformat(anomaly["start_date"])).days) <= 1
    assert anomaly["root_causes"][0]["value"] in {"compute", "project-x/BigQuery/compute", "BigQuery"}

    created = client.post(f"{base}/budgets", headers=admin, json=budget)
    assert created.status_code == 201, created.text
    status = client.get(f"{base}/budgets/{created.json()['id']}", headers=admin, params={"as_of": TODAY.isoformat()}).json()["status"]
    month_start = TODAY.replace(day=1)
    expected = sum(row["EffectiveCost"] for row in data.usage.table().to_pylist()
                   if row["SubAccountId"] == "project-x" and month_start <= row["ChargePeriodStart"].date() <= TODAY)
    assert Decimal(status["spend"]) == expected

    view = client.post(f"{base}/views", headers=admin, json={"name": "By team", "query": {"group_by": ["dim:team"]}, "range": "last_30_days"})
    assert view.status_code == 201, view.text
    digest = client.post(f"{base}/digests", headers=admin, json={"name": "Weekly", "frequency": "weekly", "view_id": view.json()["id"], "email_to": ["a@example.com"]})
    assert digest.status_code == 201, digest.text
    preview = client.get(f"{base}/digests/{digest.json()['id']}/preview", headers=admin)
    assert preview.status_code == 200 and "analytics" in preview.json()["text"], preview.text
