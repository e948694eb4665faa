"""The sync loop of `costlake serve` and `costlake worker`: start due syncs, run after-commit hooks and the jobs the
services schedule (alert evaluations and notifications, metric pulls, digests), and vacuum tables now and then."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from costlake.catalog.tenants import list_tenants
from costlake.hooks import Dispatcher, HookContext
from costlake.sync.runner import SyncRunner

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_SECONDS = 3600


class Scheduler:
    def __init__(self, runner: SyncRunner, jobs: Sequence[Callable[[], object]] = ()) -> None:
        """`jobs` run on every tick too, each on its own (Services.scheduled_jobs)."""
        self.runner = runner
        context = runner.context
        self.jobs = list(jobs)
        self.dispatcher = Dispatcher(HookContext(context.settings, context.catalog, context.lake), context.handlers, context.owner)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_housekeeping = 0.0

    def tick(self) -> None:
        try:
            self.runner.start_due()
            self.dispatcher.run_due()
            for job in self.jobs:
                try:
                    job()
                except Exception:
                    log.exception("scheduled job %s failed; retrying at the next tick", getattr(job, "__qualname__", job))
            if time.monotonic() - self._last_housekeeping > HOUSEKEEPING_EVERY_SECONDS:
                self._last_housekeeping = time.monotonic()
                self.housekeeping()
        except Exception:
            log.exception("scheduler tick failed; retrying at the next tick")

    def housekeeping(self) -> None:
        context = self.runner.context
        for tenant in list_tenants(context.catalog):
            removed = context.lake.housekeeping(tenant.id, context.settings.lake_retention)
            if removed:
                log.info("vacuumed %d old files of tenant %s", len(removed), tenant.name)

    def run_forever(self) -> None:
        interval = self.runner.context.settings.scheduler_tick.total_seconds()
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(interval)

    def start_background(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
