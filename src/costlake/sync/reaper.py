"""Recording how a dead worker's run really ended: from the store, not from hope.

A worker can die anywhere, also between its Delta commit and the catalog row that says so. The commit carries the
run's id and outcome (`Lake.replace_months`), so the reaper reads the table's log: if the run's commit landed, the
run is recorded as it ended there (`succeeded` or `warning`, with its counts); if not, it is `failed`, and the
files it had staged are deleted at once instead of waiting for vacuum. It holds the tenant's commit lock while it
decides, and a worker confirms its lease under the same lock just before committing, so a worker that is merely
slow either committed before the verdict or learns it was reaped and commits nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from costlake.catalog.locks import lake_commit_lock
from costlake.catalog.models import SyncRun
from costlake.catalog.runs import RunOutcome, finish_stale_run, stale_runs
from costlake.sync.engine import SyncContext

log = logging.getLogger(__name__)

# How long a reaper waits for a tenant's commit lock before leaving a run to the next pass.
LOCK_WAIT = timedelta(seconds=5)


def _failed(why: str) -> RunOutcome:
    return RunOutcome(
        status="failed",
        error=f"the worker running this sync stopped ({why}) before it committed; the store was left as it was "
        "before the sync and the files it had staged were deleted",
    )


def _verdict(context: SyncContext, run: SyncRun, why: str) -> RunOutcome:
    landed = context.lake.committed_run(run.tenant_id, run.id, since=run.started_at)
    if landed is None:
        return _failed(why)
    return RunOutcome.from_text(landed)


def reap(context: SyncContext) -> list[SyncRun]:
    """Record every dead worker's run as it really ended. Returns the runs recorded here."""
    reaped = []
    for run, why in stale_runs(context.catalog):
        try:
            with lake_commit_lock(
                context.catalog, run.tenant_id, context.owner, lease=context.settings.lease_duration, timeout=LOCK_WAIT
            ):
                outcome = _verdict(context, run, why)
                if not finish_stale_run(context.catalog, run, outcome):
                    continue  # another process recorded it first
                if outcome.status == "failed":
                    context.lake.discard_run(run.tenant_id, run.source_id, run.id)
        except TimeoutError:
            continue  # the tenant's table is busy; the next pass comes back to it
        log.warning("sync run %s: %s; recorded as %s", run.id, why, outcome.status)
        reaped.append(run)
    return reaped
