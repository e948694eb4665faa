"""When alerts run and what they trust: after a sync through the after-commit hook and the scheduler, never on
days a source did not fully deliver, and data notifications (first data, failing twice, stale) told once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from alerts_data import TODAY, load, usage_until_today
from conftest import auth
from costlake.alerts.evaluation import AlertContext, evaluate_tenant
from costlake.alerts.monitors import notification_due
from costlake.catalog import alerts as rows
from costlake.catalog import open_catalog, tenant_rows
from costlake.catalog import sources as source_rows
from costlake.catalog.models import AlertNotice, Anomaly, AnomalyMonitor, BillingSource
from costlake.catalog.runs import list_runs
from costlake.query.engine import CostReader
from costlake.samples.daily_usage import DailyUsage, Injection, SeriesSpec
from costlake.services import Services
from costlake.store import Lake
from costlake.sync.scheduler import Scheduler


def _notices(catalog, tenant_id: str) -> list[AlertNotice]:  # type: ignore[no-untyped-def]
    with catalog.session() as session:
        return list(session.scalars(select(AlertNotice).where(AlertNotice.tenant_id == tenant_id).order_by(AlertNotice.created_at)))


def test_a_sync_leads_to_an_evaluation_by_the_default_monitor(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    usage, injection = usage_until_today()
    usage.write(tmp_path / "usage")
    services = Services.open(settings)  # the default handlers: alerts listens to commits
    try:
        source = source_rows.insert_source(
            services.catalog, BillingSource(tenant_id=acme.id, name="u", provider="gcp", format="focus", source_uri=f"{tmp_path / 'usage'}/*.parquet", uri_by_operator=True)
        )
        services.runner.start(source)
        while list_runs(services.catalog, source.id, limit=1, cursor=None)[0][0].status in ("queued", "running"):
            pass
        assert rows.find_default_monitor(services.catalog, acme.id) is None
        scheduler = Scheduler(services.runner, services.scheduled_jobs())
        scheduler.tick()  # runs the hook (default monitor, evaluation asked for), then the evaluation
        monitor = rows.find_default_monitor(services.catalog, acme.id)
        assert monitor is not None and monitor.split_by == ["ServiceName", "SubAccountId"] and monitor.channels == []
        anomalies, _ = rows.list_anomalies(services.catalog, acme.id, status=None, monitor_id=monitor.id, limit=10, cursor=None)
        assert [a.series for a in anomalies] == [{"ServiceName": "BigQuery", "SubAccountId": "project-x"}]
        assert abs((anomalies[0].start_date - injection.start).days) <= 1
        evaluated_at = monitor.last_evaluated_at
        scheduler.tick()  # not due again before COSTLAKE_ALERTS_INTERVAL, and nothing new was synced
        assert rows.find_default_monitor(services.catalog, acme.id).last_evaluated_at == evaluated_at
    finally:
        services.close()


def test_no_anomaly_on_days_a_failing_source_did_not_deliver(client, settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    complete, _ = usage_until_today(anomaly_days_ago=None, series=[SeriesSpec("BigQuery", "project-x", 1500, noise=0.03), SeriesSpec("Compute Engine", "project-x", 2000, noise=0.03)])
    complete = DailyUsage(complete.start, complete.days, complete.series, [Injection("Compute Engine", "project-x", TODAY - timedelta(days=4), 5, 10)])
    load(settings, acme.id, tmp_path / "a", complete, name="complete")
    # A second source of the same BigQuery series stopped delivering five days ago, and its last sync failed.
    late = DailyUsage(complete.start, complete.days - 5, [SeriesSpec("BigQuery", "project-x", 1000, noise=0.03)], seed=99)
    failing = load(settings, acme.id, tmp_path / "b", late, name="failing")
    catalog = open_catalog(settings)
    with catalog.session() as session:
        session.execute(update(BillingSource).where(BillingSource.id == failing.source_id).values(last_status="failed", last_error="access denied"))
    catalog.close()
    base, admin = f"/api/v1/tenants/{acme.name}", auth(acme.admin)
    monitor = client.post(f"{base}/anomaly-monitors", headers=admin, json={"name": "both ways", "split_by": ["ServiceName"], "direction": "both"}).json()
    report = client.post(f"{base}/anomaly-monitors/{monitor['id']}/evaluate", headers=admin).json()
    found = client.get(f"{base}/anomalies", headers=admin, params={"monitor_id": monitor["id"]}).json()["items"]
    # BigQuery's sum fell by 40 % when the failing source stopped: not an anomaly, the data is incomplete.
    assert [a["series"] for a in found] == [{"ServiceName": "Compute Engine"}]
    (incomplete,) = report["incomplete"]
    assert incomplete["series"] == {"ServiceName": "BigQuery"} and incomplete["through"] == (TODAY - timedelta(days=6)).isoformat()  # its newest day (TODAY - 5) is partial
    assert "the last sync of source 'failing' failed" in incomplete["reasons"]


def test_data_notifications_first_data_failing_twice_and_stale_are_told_once(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    old, _ = usage_until_today(days=40, anomaly_days_ago=None)
    old = DailyUsage(old.start - timedelta(days=5), old.days, old.series)  # its newest data is 5 days old: stale
    loaded = load(settings, acme.id, tmp_path / "old", old, name="old")
    catalog = open_catalog(settings)
    lake = Lake(settings)
    try:
        broken = source_rows.insert_source(
            catalog, BillingSource(tenant_id=acme.id, name="broken", provider="aws", format="focus", source_uri=f"{tmp_path / 'missing'}/*.parquet", uri_by_operator=True)
        )
        services = Services.open(settings, handlers=())
        try:
            for _ in range(3):
                services.runner.start(broken)
                while list_runs(catalog, broken.id, limit=1, cursor=None)[0][0].status in ("queued", "running"):
                    pass
        finally:
            services.close()
        assert [r.status for r in list_runs(catalog, broken.id, limit=5, cursor=None)[0]] == ["failed"] * 3
        context = AlertContext(settings, catalog, CostReader(settings, lake))
        evaluate_tenant(context, acme.id, owner="w")
        evaluate_tenant(context, acme.id, owner="w")
        kinds = sorted((n.type, n.subject_id) for n in _notices(catalog, acme.id))
        assert kinds == [
            ("source.failing", broken.id),
            ("source.first_data", loaded.source_id),
            ("source.stale", loaded.source_id),
        ]
        failing = next(n for n in _notices(catalog, acme.id) if n.type == "source.failing")
        assert failing.data["payload"]["failed_runs"] == 3 and "broken" in failing.data["title"]
        monitors = tenant_rows.list_rows(catalog, AnomalyMonitor, acme.id)
        assert [m.is_default for m in monitors] == [True]
    finally:
        catalog.close()


def test_an_anomaly_is_told_when_opened_then_each_time_its_impact_doubles_unless_silenced() -> None:
    now = datetime.now(UTC)
    anomaly = Anomaly(status="open", active=True, notified_level=-1, impact=Decimal(100), last_date=TODAY, events=[{"type": "opened", "impact": "100.00"}])
    assert notification_due(anomaly, TODAY, now) == ("anomaly.opened", 0)
    anomaly.notified_level = 0
    anomaly.impact = Decimal("199.99")
    assert notification_due(anomaly, TODAY, now) is None  # not doubled yet
    anomaly.impact = Decimal(450)
    assert notification_due(anomaly, TODAY, now) == ("anomaly.grew", 2)  # 4x: one message, not one per level passed
    anomaly.notified_level = 2
    anomaly.impact = Decimal(799)
    assert notification_due(anomaly, TODAY, now) is None
    anomaly.impact = Decimal(800)
    anomaly.status, anomaly.snoozed_until = "snoozed", now + timedelta(days=1)
    assert notification_due(anomaly, TODAY, now) is None
    assert notification_due(anomaly, TODAY, now + timedelta(days=2)) == ("anomaly.grew", 3)  # the snooze is over
    anomaly.status = "acknowledged"
    assert notification_due(anomaly, TODAY, now + timedelta(days=2)) is None
    old = Anomaly(status="open", active=False, notified_level=-1, impact=Decimal(100), last_date=TODAY - timedelta(days=10), events=[])
    assert notification_due(old, TODAY, now) is None  # long over when first seen: recorded, not announced


def test_evaluate_answers_409_while_another_worker_evaluates(client, settings, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    base, admin = f"/api/v1/tenants/{acme.name}", auth(acme.admin)
    monitor = client.post(f"{base}/anomaly-monitors", headers=admin, json={"name": "m"}).json()
    catalog = open_catalog(settings)
    try:
        assert rows.claim_evaluation(catalog, acme.id, "worker-a", timedelta(minutes=5))
        busy = client.post(f"{base}/anomaly-monitors/{monitor['id']}/evaluate", headers=admin)
        assert busy.status_code == 409 and "another worker" in busy.json()["detail"]
        rows.release_evaluation(catalog, acme.id, "worker-a", None)
        assert client.post(f"{base}/anomaly-monitors/{monitor['id']}/evaluate", headers=admin).status_code == 200
    finally:
        catalog.close()
