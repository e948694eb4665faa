"""Metric pulls and their runs. Like sync runs, a run holds a lease its worker renews; a partial unique index
allows one running run per pull across every process, and a run whose lease ran out is marked failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from costlake.catalog import leases
from costlake.catalog.database import Catalog
from costlake.catalog.models import Metric, MetricPull, MetricPullRun, utcnow
from costlake.errors import Conflict, NotFound

LEASE_EXPIRED = "the worker running this pull stopped (its lease expired); the metric's values were left as they were"


def find_pull(catalog: Catalog, metric: Metric) -> MetricPull | None:
    with catalog.session() as session:
        return session.scalars(select(MetricPull).where(MetricPull.metric_id == metric.id)).first()


def get_pull(catalog: Catalog, metric: Metric) -> MetricPull:
    pull = find_pull(catalog, metric)
    if pull is None:
        raise NotFound(f"metric {metric.name!r} has no pull; set one with PUT .../metrics/{metric.name}/pull")
    return pull


def save_pull(catalog: Catalog, metric: Metric, fields: dict[str, Any]) -> MetricPull:
    """Create the metric's pull, or replace its settings (a changed query or host backfills again)."""
    with catalog.session() as session:
        pull = session.scalars(select(MetricPull).where(MetricPull.metric_id == metric.id)).first()
        if pull is None:
            pull = MetricPull(tenant_id=metric.tenant_id, metric_id=metric.id, needs_backfill=True, **fields)
            session.add(pull)
        else:
            if fields.get("config") != pull.config or fields.get("kind") != pull.kind:
                pull.needs_backfill = True
            for name, value in fields.items():
                setattr(pull, name, value)
            pull.updated_at = utcnow()
    return pull


def delete_pull(catalog: Catalog, metric: Metric) -> None:
    pull = get_pull(catalog, metric)
    with catalog.session() as session:
        session.delete(session.get_one(MetricPull, pull.id))


def tenant_pulls(catalog: Catalog, tenant_id: str) -> list[tuple[MetricPull, str]]:
    """Every pull of the tenant with its metric's name."""
    with catalog.session() as session:
        query = select(MetricPull, Metric.name).join(Metric, Metric.id == MetricPull.metric_id).where(MetricPull.tenant_id == tenant_id)
        return [(pull, name) for pull, name in session.execute(query.order_by(Metric.name)).all()]


def expire_stale_runs(catalog: Catalog) -> int:
    now = utcnow()
    with catalog.session() as session:
        stale = list(session.scalars(select(MetricPullRun).where(MetricPullRun.status == "running", MetricPullRun.lease_expires_at < now)))
        for run in stale:
            run.status, run.finished_at, run.error = "failed", now, LEASE_EXPIRED
            pull = session.get(MetricPull, run.pull_id)
            if pull is not None:
                pull.last_status, pull.last_error = "failed", LEASE_EXPIRED
    return len(stale)


def start_run(catalog: Catalog, pull: MetricPull, *, trigger: str, first: date, last: date, owner: str, lease: timedelta) -> MetricPullRun:
    """Claim the pull for one run, or raise Conflict naming the run that holds it."""
    expire_stale_runs(catalog)
    now = utcnow()
    try:
        with catalog.session() as session:
            run = MetricPullRun(
                pull_id=pull.id, tenant_id=pull.tenant_id, status="running", trigger=trigger, started_at=now,
                first_day=first, last_day=last, lease_owner=owner, lease_expires_at=now + lease, warnings=[],
            )
            session.add(run)
            session.get_one(MetricPull, pull.id).last_status = "running"
    except IntegrityError:
        with catalog.session() as session:
            holder = session.scalars(select(MetricPullRun.id).where(MetricPullRun.pull_id == pull.id, MetricPullRun.status == "running")).first()
        raise Conflict(f"a pull of this metric is already running (run {holder}); wait for it to finish", run_id=holder) from None
    return run


def renew_lease(catalog: Catalog, run_id: str, owner: str, lease: timedelta, attempts: int) -> bool:
    """Extend the run's lease (and note the attempt); False when the run is no longer ours."""
    return leases.renew_lease(catalog, MetricPullRun, run_id, owner, lease, attempts=attempts)


@dataclass
class PullOutcome:
    status: str  # succeeded | warning | failed
    values_written: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def finish_run(catalog: Catalog, run_id: str, outcome: PullOutcome) -> MetricPullRun:
    now = utcnow()
    with catalog.session() as session:
        run = session.get_one(MetricPullRun, run_id)
        run.status, run.finished_at = outcome.status, now
        run.values_written, run.error, run.warnings = outcome.values_written, outcome.error, outcome.warnings
        run.lease_owner = run.lease_expires_at = None
        pull = session.get(MetricPull, run.pull_id)
        if pull is not None:
            pull.last_status, pull.last_run_at = outcome.status, now
            if outcome.status == "failed":
                pull.last_error = outcome.error
            else:
                pull.last_error = "; ".join(outcome.warnings) or None
                pull.last_success_at = now
                if run.trigger == "backfill":
                    pull.needs_backfill = False
        return run


def get_run(catalog: Catalog, pull: MetricPull, run_id: str) -> MetricPullRun:
    with catalog.session() as session:
        run = session.get(MetricPullRun, run_id)
    if run is None or run.pull_id != pull.id:
        raise NotFound(f"no pull run {run_id!r} for this metric")
    return run


def list_runs(catalog: Catalog, pull: MetricPull, limit: int) -> list[MetricPullRun]:
    with catalog.session() as session:
        query = select(MetricPullRun).where(MetricPullRun.pull_id == pull.id)
        return list(session.scalars(query.order_by(MetricPullRun.started_at.desc(), MetricPullRun.id.desc()).limit(limit)))


def due_pulls(catalog: Catalog, interval: timedelta) -> list[MetricPull]:
    """Enabled pulls that never ran, or whose last run started longer than one interval ago."""
    now = utcnow()
    last = leases.last_started(MetricPullRun.pull_id, MetricPullRun.started_at)
    query = select(MetricPull, last.c.started_at).outerjoin(last, last.c.subject == MetricPull.id).where(MetricPull.enabled.is_(True))
    with catalog.session() as session:
        rows = session.execute(query).all()
    return [pull for pull, started in rows if leases.interval_passed(started, interval, now)]
