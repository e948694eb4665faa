"""Scheduled metric pulls against a real Prometheus and a real PostgreSQL: exact values, failures that keep earlier
values, write-only DSNs, hosts tenants may not name, retries, and data health."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, text

from conftest import POSTGRES_ADMIN_URL, auth
from costlake.catalog import metric_pulls as pull_rows
from costlake.catalog.metrics import get_metric
from costlake.metrics.pulls import run_pull
from fixtures_prometheus import expected_requests, prometheus  # noqa: F401

QUERY = "sum by (team) (last_over_time(app_requests_per_day[1d]))"


def base(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}/metrics"


@pytest.fixture
def acme(client, make_tenant, settings):  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme")
    settings.pull_allowed_hosts = ["127.0.0.1"]
    created = client.post(base(tenant.id), headers=auth(tenant.admin), json={"name": "requests", "unit": "requests"})
    assert created.status_code == 201, created.text
    return tenant


def run_and_wait(client, tenant: str, token: str, body: dict | None = None) -> dict:  # type: ignore[type-arg]
    started = client.post(f"{base(tenant)}/requests/pull/runs", headers=auth(token), json=body)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = client.get(f"{base(tenant)}/requests/pull/runs/{started.json()['id']}", headers=auth(token)).json()
        if run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError("pull still running")


def stored(client, tenant: str, token: str) -> dict[tuple[str, str], str]:
    values = client.get(f"{base(tenant)}/requests/values", headers=auth(token)).json()["values"]
    return {(v["date"], v["labels"].get("tag:team", v["labels"].get("team", ""))): v["value"] for v in values}


def test_prometheus_backfill_reads_exact_daily_values(client, acme, prometheus) -> None:  # type: ignore[no-untyped-def]
    admin = auth(acme.admin)
    pull = client.put(f"{base(acme.id)}/requests/pull", headers=admin, json={
        "kind": "prometheus", "url": prometheus.url, "query": QUERY, "label_map": {"team": "tag:team"},
    })
    assert pull.status_code == 200, pull.text
    first = prometheus.days()[0]
    run = run_and_wait(client, acme.id, acme.admin, {"from": first.isoformat()})
    assert run["status"] == "succeeded", run
    assert run["trigger"] == "backfill" and run["last_day"] == (prometheus.today - timedelta(days=1)).isoformat()
    expected = {
        (day.isoformat(), team): str(expected_requests(day, team, prometheus.today))
        for day in prometheus.days() for team in ("payments", "search")
    }
    assert stored(client, acme.id, acme.admin) == expected
    assert run["values_written"] == len(expected)
    health = client.get(f"/api/v1/tenants/{acme.id}/data-health", headers=auth(acme.member)).json()
    (entry,) = health["metric_pulls"]
    assert entry["metric"] == "requests" and entry["status"] == "succeeded" and entry["stale"] is False
    assert entry["latest_day"] == (prometheus.today - timedelta(days=1)).isoformat()


def test_a_failing_query_fails_the_run_with_prometheus_message_and_keeps_values(client, acme, prometheus) -> None:  # type: ignore[no-untyped-def]
    admin = auth(acme.admin)
    client.put(f"{base(acme.id)}/requests/pull", headers=admin, json={"kind": "prometheus", "url": prometheus.url, "query": QUERY, "label_map": {"team": "tag:team"}})
    assert run_and_wait(client, acme.id, acme.admin, {"from": prometheus.days()[-5].isoformat()})["status"] == "succeeded"
    before = stored(client, acme.id, acme.admin)
    assert len(before) == 10
    client.put(f"{base(acme.id)}/requests/pull", headers=admin, json={"kind": "prometheus", "url": prometheus.url, "query": "sum by (team) (rate(", "label_map": {"team": "tag:team"}})
    failed = run_and_wait(client, acme.id, acme.admin)
    assert failed["status"] == "failed" and "bad_data" in failed["error"] and "parse error" in failed["error"]
    assert stored(client, acme.id, acme.admin) == before
    pull = client.get(f"{base(acme.id)}/requests/pull", headers=admin).json()
    assert pull["last_status"] == "failed" and "parse error" in pull["last_error"]


def test_series_labels_must_match_a_dimension(client, acme, prometheus) -> None:  # type: ignore[no-untyped-def]
    client.put(f"{base(acme.id)}/requests/pull", headers=auth(acme.admin), json={"kind": "prometheus", "url": prometheus.url, "query": QUERY})
    run = run_and_wait(client, acme.id, acme.admin, {"from": prometheus.days()[-2].isoformat()})
    assert run["status"] == "failed" and "label 'team' matches no cost dimension" in run["error"]


def test_tenants_may_only_name_allowed_hosts(client, operator_client, acme, settings) -> None:  # type: ignore[no-untyped-def]
    settings.pull_allowed_hosts = ["prometheus.internal:9090"]
    refused = client.put(f"{base(acme.id)}/requests/pull", headers=auth(acme.admin), json={"kind": "prometheus", "url": "http://169.254.169.254", "query": "up"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "url"]
    assert "COSTLAKE_PULL_ALLOWED_HOSTS" in refused.json()["detail"][0]["msg"]
    allowed = client.put(f"{base(acme.id)}/requests/pull", headers=auth(acme.admin), json={"kind": "prometheus", "url": "http://prometheus.internal:9090/", "query": "up"})
    assert allowed.status_code == 200 and allowed.json()["url"] == "http://prometheus.internal:9090"
    dsn = client.put(f"{base(acme.id)}/requests/pull", headers=auth(acme.admin), json={
        "kind": "postgres", "query": "select 1", "credential": {"kind": "stored", "value": "postgresql://u@10.0.0.8/db"}})
    assert dsn.status_code == 422 and dsn.json()["detail"][0]["loc"] == ["body", "credential"]
    # the operator (in-process CLI) may name any host
    assert operator_client.put(f"{base(acme.id)}/requests/pull", json={"kind": "prometheus", "url": "http://10.1.2.3:9090", "query": "up"}).status_code == 200


def test_unreachable_prometheus_is_retried_then_fails(client, acme, settings) -> None:  # type: ignore[no-untyped-def]
    services = client.app.state.services
    client.put(f"{base(acme.id)}/requests/pull", headers=auth(acme.admin), json={"kind": "prometheus", "url": "http://127.0.0.1:9", "query": "up"})
    metric = get_metric(services.catalog, acme.id, "requests")
    pull = pull_rows.get_pull(services.catalog, metric)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    run = pull_rows.start_run(services.catalog, pull, trigger="manual", first=yesterday, last=yesterday, owner=services.pulls.context.owner, lease=timedelta(minutes=1))
    pauses: list[float] = []
    finished = run_pull(services.pulls.context, pull, run, sleep=pauses.append)
    assert finished.status == "failed" and "cannot reach Prometheus" in (finished.error or "")
    assert pauses == [1, 4] and finished.attempts == 3


def test_scheduler_starts_due_pulls_and_expires_dead_ones(client, acme, prometheus) -> None:  # type: ignore[no-untyped-def]
    services = client.app.state.services
    client.put(f"{base(acme.id)}/requests/pull", headers=auth(acme.admin), json={
        "kind": "prometheus", "url": prometheus.url, "query": QUERY, "label_map": {"team": "tag:team"}, "backfill_months": 1})
    (started,) = services.pulls.start_due()
    assert started.trigger == "backfill"
    deadline = time.monotonic() + 60
    while (run := client.get(f"{base(acme.id)}/requests/pull/runs/{started.id}", headers=auth(acme.admin)).json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert run["status"] == "succeeded" and run["first_day"].endswith("-01")
    assert services.pulls.start_due() == []  # ran within the interval
    # a run whose worker died is failed by the next pass, and the pull can run again
    pull = pull_rows.get_pull(services.catalog, get_metric(services.catalog, acme.id, "requests"))
    day = prometheus.today - timedelta(days=1)
    pull_rows.start_run(services.catalog, pull, trigger="schedule", first=day, last=day, owner="dead-worker", lease=timedelta(seconds=-1))
    assert pull_rows.expire_stale_runs(services.catalog) == 1
    assert client.get(f"{base(acme.id)}/requests/pull", headers=auth(acme.admin)).json()["last_status"] == "failed"


@pytest.fixture
def metrics_database():  # type: ignore[no-untyped-def]
    """A PostgreSQL database holding the team's own daily request counts (where such metrics often live)."""
    name = f"costlake_metrics_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        import os

        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is unreachable under CI=true: {error}")
        pytest.skip(f"PostgreSQL is unreachable: {error}")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE daily_requests (day date, team text, n bigint)")
        connection.execute("CREATE SEQUENCE x")
        for offset in range(1, 11):
            day = datetime.now(UTC).date() - timedelta(days=offset)
            connection.execute("INSERT INTO daily_requests VALUES (%s, 'payments', %s), (%s, 'search', %s)", (day, 100 * offset, day, 7 * offset))
    yield dsn
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_postgres_pull_reads_read_only_with_a_write_only_dsn(client, acme, metrics_database) -> None:  # type: ignore[no-untyped-def]
    admin = auth(acme.admin)
    body = {
        "kind": "postgres", "query": "SELECT day AS date, n AS value, team AS \"tag:team\" FROM daily_requests WHERE team LIKE '%a%';",
        "credential": {"kind": "stored", "value": metrics_database},
    }
    saved = client.put(f"{base(acme.id)}/requests/pull", headers=admin, json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["credential"] == {"kind": "stored", "set": True} and metrics_database not in saved.text
    today = datetime.now(UTC).date()
    run = run_and_wait(client, acme.id, acme.admin, {"from": (today - timedelta(days=5)).isoformat()})
    assert run["status"] == "succeeded", run
    expected = {}
    for offset in range(1, 6):
        day = (today - timedelta(days=offset)).isoformat()
        expected[(day, "payments")], expected[(day, "search")] = str(100 * offset), str(7 * offset)
    assert stored(client, acme.id, acme.admin) == expected
    # a changed query without the credential keeps the stored DSN; a failing one keeps the values
    broken = client.put(f"{base(acme.id)}/requests/pull", headers=admin, json={"kind": "postgres", "query": "SELECT day AS date, n AS value FROM no_such_table"})
    assert broken.status_code == 200 and broken.json()["credential"]["set"] is True
    failed = run_and_wait(client, acme.id, acme.admin)
    assert failed["status"] == "failed" and 'relation "no_such_table" does not exist' in failed["error"]
    assert stored(client, acme.id, acme.admin) == expected
    writer = client.put(f"{base(acme.id)}/requests/pull", headers=admin, json={
        "kind": "postgres", "query": "SELECT day AS date, nextval('x') AS value FROM daily_requests"})
    assert writer.status_code == 200
    refused = run_and_wait(client, acme.id, acme.admin)
    assert refused["status"] == "failed" and "read-only transaction" in refused["error"]


def test_plan_covers_at_most_twelve_months() -> None:
    from costlake.catalog.models import MetricPull
    from costlake.metrics.pulls import plan_days

    pull = MetricPull(config={"window_days": 3}, backfill_months=12, needs_backfill=True)
    trigger, first, last = plan_days(pull, date(2020, 1, 1), date(2026, 12, 6))
    assert (trigger, first, last) == ("backfill", date(2025, 12, 1), date(2026, 12, 5))
    pull.needs_backfill = False
    assert plan_days(pull, None, date(2026, 12, 6)) == ("schedule", date(2026, 12, 3), date(2026, 12, 5))


def test_the_scheduler_runs_every_job_each_tick_even_when_one_fails(client) -> None:  # type: ignore[no-untyped-def]
    from costlake.sync.scheduler import Scheduler

    services = client.app.state.services
    assert services.scheduled_jobs() == [services.alerts.tick, services.pulls.start_due, services.digests.run_due]
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("boom")

    Scheduler(services.runner, [broken, lambda: ran.append("next")]).tick()
    assert ran == ["broken", "next"]
