"""Sync runs and their leases.

A run holds a lease that its worker renews; a run whose lease ran out (or whose process is provably gone) belongs
to a worker that died, and costlake.sync.reaper records how it really ended, from the store, so the next sync can
start. The partial unique index on running runs makes "one sync per source"
hold across every process that shares the catalog.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from costlake.catalog import leases
from costlake.catalog.database import Catalog, rows_changed
from costlake.catalog.models import BillingSource, SyncRun, utcnow
from costlake.catalog.owners import owner_is_gone
from costlake.errors import Conflict, InvalidInput

# A run is queued from the moment it is claimed until a worker thread takes it up; then it runs. Both hold the
# source (one per source, by a partial unique index) and a lease: a queued run's is renewed by the process that
# queued it (SyncRunner), a running run's by its LeaseKeeper.
ACTIVE = ("queued", "running")
# After a failed run the source is due again at once; after more, the wait doubles from this, up to the interval.
RETRY_AFTER = timedelta(minutes=1)


def stale_runs(catalog: Catalog) -> list[tuple[SyncRun, str]]:
    """Queued or running runs whose worker is dead, with why we know: its lease expired, or its process is
    provably gone (costlake.catalog.owners)."""
    now = utcnow()
    with catalog.session() as session:
        running = list(session.scalars(select(SyncRun).where(SyncRun.status.in_(ACTIVE))))
    stale = []
    for run in running:
        if run.lease_expires_at is not None and run.lease_expires_at < now:
            stale.append((run, "its lease expired"))
        elif owner_is_gone(run.lease_owner):
            stale.append((run, f"its process {(run.lease_owner or '').split(':')[1]} on this host is gone"))
    return stale


def running_run(catalog: Catalog, source_id: str) -> SyncRun | None:
    """The source's queued or running run, if any."""
    with catalog.session() as session:
        query = select(SyncRun).where(SyncRun.source_id == source_id, SyncRun.status.in_(ACTIVE))
        return session.scalars(query).first()


def start_run(
    catalog: Catalog, source: BillingSource, *, trigger: str, from_date: date | None, owner: str, lease: timedelta
) -> SyncRun:
    """Claim the source for one sync, as a queued run, or raise Conflict naming the run that holds it (reap dead
    runs first: costlake.sync.reaper)."""
    now = utcnow()
    try:
        with catalog.session() as session:
            run = SyncRun(
                source_id=source.id,
                tenant_id=source.tenant_id,
                status="queued",
                trigger=trigger,
                started_at=now,
                from_date=from_date,
                lease_owner=owner,
                lease_expires_at=now + lease,
            )
            session.add(run)
            stored = session.get_one(BillingSource, source.id)
            stored.last_status = "queued"
    except IntegrityError:
        holder = running_run(catalog, source.id)
        run_id = holder.id if holder else None
        state = holder.status if holder else "running"
        raise Conflict(f"a sync of this source is already {state} (run {run_id}); wait for it to finish", run_id=run_id) from None
    return run


def begin_run(catalog: Catalog, run_id: str, owner: str, lease: timedelta) -> bool:
    """A worker thread takes up a queued run: it runs from now, with a fresh lease. False when it is no longer
    ours to run (reaped meanwhile)."""
    with catalog.session() as session:
        result = session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.lease_owner == owner, SyncRun.status == "queued")
            .values(status="running", lease_expires_at=utcnow() + lease)
        )
        if rows_changed(result) != 1:
            return False
        run = session.get_one(SyncRun, run_id)
        source = session.get(BillingSource, run.source_id)
        if source is not None:
            source.last_status = "running"
        return True


def renew_queued(catalog: Catalog, owner: str, lease: timedelta) -> int:
    """Extend the leases of every run this owner queued: the queue is alive while its process is."""
    with catalog.session() as session:
        result = session.execute(
            update(SyncRun)
            .where(SyncRun.lease_owner == owner, SyncRun.status == "queued")
            .values(lease_expires_at=utcnow() + lease)
        )
        return rows_changed(result)


def renew_lease(catalog: Catalog, run_id: str, owner: str, lease: timedelta) -> bool:
    """Extend a run's lease; False when the run is no longer ours (it was expired by someone else)."""
    return leases.renew_lease(catalog, SyncRun, run_id, owner, lease)


@dataclass
class RunOutcome:
    status: str  # "succeeded" | "warning" | "failed" | "cancelled"
    months: list[str] = field(default_factory=list)
    row_count: int = 0
    billed_cost_by_month: dict[str, dict[str, str]] = field(default_factory=dict)
    files: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        """JSON, for the Delta commit that lands the run: the store then says how a run ended (sync.reaper)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> RunOutcome:
        return cls(**json.loads(text))


def _record(session: Session, run: SyncRun, outcome: RunOutcome) -> SyncRun:
    now = utcnow()
    run.status, run.finished_at = outcome.status, now
    run.months, run.row_count = outcome.months, outcome.row_count
    run.billed_cost_by_month, run.files = outcome.billed_cost_by_month, outcome.files
    run.error, run.warnings = outcome.error, outcome.warnings
    run.lease_owner = run.lease_expires_at = None
    source = session.get(BillingSource, run.source_id)
    if source is not None:
        source.last_status = outcome.status
        source.last_synced_at = now
        if outcome.status in ("failed", "cancelled"):
            source.last_error = outcome.error
            if outcome.status == "failed":  # a cancelled run is no failure to back off from
                source.failed_attempts = (source.failed_attempts or 0) + 1
        else:
            source.failed_attempts = 0
            source.last_error = "; ".join(outcome.warnings) or None
            source.last_row_count = outcome.row_count
            source.last_success_at = now
            source.needs_backfill = False
    return run


def finish_run(catalog: Catalog, run_id: str, outcome: RunOutcome) -> SyncRun:
    """Record a run's end and mirror it on its source, in one transaction."""
    with catalog.session() as session:
        return _record(session, session.get_one(SyncRun, run_id), outcome)


def finish_stale_run(catalog: Catalog, stale: SyncRun, outcome: RunOutcome) -> bool:
    """Record the end of a dead worker's run, unless someone else already did (or its worker renewed it)."""
    with catalog.session() as session:
        run = session.get(SyncRun, stale.id, with_for_update=True)
        if run is None or run.status != stale.status or run.lease_owner != stale.lease_owner:
            return False
        _record(session, run, outcome)
        return True


def get_run(catalog: Catalog, run_id: str) -> SyncRun | None:
    with catalog.session() as session:
        return session.get(SyncRun, run_id)


def _encode_cursor(run: SyncRun) -> str:
    raw = json.dumps([run.started_at.isoformat(), run.id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        started_at, run_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(started_at), str(run_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor", "invalid cursor; pass the next_cursor of the previous page unchanged") from exc


def list_runs(catalog: Catalog, source_id: str, *, limit: int, cursor: str | None) -> tuple[list[SyncRun], str | None]:
    """Runs newest first, one page at a time (keyset paging on started_at, id)."""
    query = select(SyncRun).where(SyncRun.source_id == source_id)
    if cursor:
        started_at, run_id = _decode_cursor(cursor)
        query = query.where(
            or_(SyncRun.started_at < started_at, and_(SyncRun.started_at == started_at, SyncRun.id < run_id))
        )
    query = query.order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit + 1)
    with catalog.session() as session:
        runs = list(session.scalars(query))
    next_cursor = _encode_cursor(runs[limit - 1]) if len(runs) > limit else None
    return runs[:limit], next_cursor


def retry_delay(failures: int, interval: timedelta) -> timedelta:
    """How long a source waits after `failures` failed runs in a row: not at all after the first (a dead worker's
    run is retried at once), then RETRY_AFTER doubling, never longer than the sync interval."""
    if failures <= 1:
        return timedelta(0)
    return min(interval, RETRY_AFTER * 2 ** min(failures - 2, 30))


def due_sources(catalog: Catalog, interval: timedelta, now: datetime | None = None) -> list[BillingSource]:
    """Enabled sources that never synced, whose last run started longer than one interval ago, or whose last run
    failed and whose retry delay has passed."""
    now = now or utcnow()
    last = leases.last_started(SyncRun.source_id, SyncRun.started_at)
    query = select(BillingSource, last.c.started_at).outerjoin(last, last.c.subject == BillingSource.id).where(BillingSource.enabled.is_(True))
    with catalog.session() as session:
        rows = session.execute(query).all()
    due = []
    for source, started_at in rows:
        if leases.interval_passed(started_at, interval, now):
            due.append(source)
        elif source.last_status == "failed" and source.last_synced_at is not None:
            if now - source.last_synced_at >= retry_delay(source.failed_attempts, interval):
                due.append(source)
    return due
