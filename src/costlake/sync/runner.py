"""Starting syncs and running them on a small thread pool, for the API and the scheduler alike."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from functools import partial

from costlake.catalog.models import BillingSource, SyncRun
from costlake.catalog.runs import begin_run, due_sources, get_run, renew_queued, start_run
from costlake.errors import Conflict, InvalidInput
from costlake.months import current_month, month_of
from costlake.sync.engine import SyncContext, run_sync
from costlake.sync.reaper import reap
from costlake.sync.run_log import run_ended, run_started

log = logging.getLogger(__name__)


class SyncRunner:
    def __init__(self, context: SyncContext, max_workers: int = 2) -> None:
        self.context = context
        self._max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sync")
        self._active = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Queued runs keep their lease while this process lives; each takes a fresh one when it starts.
        self._queue_keeper = threading.Thread(target=self._keep_queue, name="sync-queue-lease", daemon=True)
        self._queue_keeper.start()

    def _keep_queue(self) -> None:
        lease = self.context.settings.lease_duration
        while not self._stop.wait(lease.total_seconds() / 3):
            try:
                renew_queued(self.context.catalog, self.context.owner, lease)
            except Exception:
                log.exception("could not renew the leases of queued syncs; retrying")

    def _run(self, source: BillingSource, run: SyncRun) -> SyncRun:
        if not begin_run(self.context.catalog, run.id, self.context.owner, self.context.settings.lease_duration):
            log.warning("queued sync %s was reaped before it started; skipping it", run.id)
            return get_run(self.context.catalog, run.id) or run
        return run_sync(self.context, source, run)

    def start(self, source: BillingSource, *, from_date: date | None = None, scheduled: bool = False) -> SyncRun:
        """Claim the source and queue its sync (status `queued` until a worker thread takes it up); raises Conflict
        when a sync of it is already queued or running."""
        if from_date is not None and month_of(from_date) > current_month():
            raise InvalidInput("from", f"from {from_date.isoformat()} is in the future; give a date in a past or the current month")
        if from_date is not None or source.needs_backfill:
            trigger = "backfill"
        else:
            trigger = "schedule" if scheduled else "manual"
        claim = partial(start_run, self.context.catalog, source, trigger=trigger, from_date=from_date,
                        owner=self.context.owner, lease=self.context.settings.lease_duration)
        try:
            run = claim()
        except Conflict:
            if not reap(self.context):
                raise
            run = claim()  # the holder was a dead worker's run, now recorded as it ended
        with self._lock:
            self._active += 1
        run_started(source, run)
        future: Future[SyncRun] = self._pool.submit(self._run, source, run)
        future.add_done_callback(lambda done: self._done(source, done))
        return run

    def _done(self, source: BillingSource, future: Future[SyncRun]) -> None:
        with self._lock:
            self._active -= 1
        if future.exception() is not None:
            log.error("sync crashed outside its own error handling", exc_info=future.exception())
        else:
            run_ended(source, future.result())

    def start_due(self) -> list[SyncRun]:
        """One scheduler pass: record how dead workers' runs ended, then start due sources while a worker is free."""
        reap(self.context)
        started = []
        for source in due_sources(self.context.catalog, self.context.settings.sync_interval):
            with self._lock:
                if self._active >= self._max_workers:
                    break
            try:
                started.append(self.start(source, scheduled=True))
            except Conflict:
                continue  # another worker has it
        return started

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)
        self._stop.set()
        self._queue_keeper.join()
