"""What the API needs at hand per process: settings, catalog, lake and the sync runner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from costlake.alerts.evaluation import AlertContext, AlertsWorker
from costlake.allocation import Allocation
from costlake.catalog import Catalog, open_catalog
from costlake.digests.send import DigestSender
from costlake.hooks import DEFAULT_HANDLERS, Handler
from costlake.metrics.pulls import PullContext, PullRunner
from costlake.query.engine import CostReader
from costlake.query.scope import Scope
from costlake.settings import Settings
from costlake.store import Lake
from costlake.sync.engine import SyncContext
from costlake.sync.runner import SyncRunner


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    lake: Lake
    runner: SyncRunner
    reader: CostReader
    pulls: PullRunner
    digests: DigestSender
    allocation: Allocation
    alerts: AlertsWorker

    @classmethod
    def open(cls, settings: Settings, handlers: Sequence[Handler] = DEFAULT_HANDLERS) -> Services:
        """`handlers` are told about commits and removals (costlake.hooks); tests pass their own."""
        catalog = open_catalog(settings)
        lake = Lake(settings)
        runner = SyncRunner(SyncContext(settings, catalog, lake, handlers=handlers))
        reader = CostReader(settings, lake)
        allocation = Allocation(catalog, reader)
        reader.plans = allocation.for_query  # every reader of costs (explorer, alerts, digests) answers dim:<name>
        tag_keys = lambda tenant_id: [key for key, _ in reader.tag_coverage(Scope(tenant_id=tenant_id))]
        pulls = PullRunner(PullContext(settings, catalog, runner.context.owner, tag_keys))
        alerts = AlertsWorker(AlertContext(settings, catalog, reader), runner.context.owner)
        return cls(settings, catalog, lake, runner, reader, pulls, DigestSender(settings, catalog, reader), allocation, alerts)

    def scheduled_jobs(self) -> list[Callable[[], object]]:
        """What the scheduler runs on each tick besides syncs and hook deliveries: alert evaluations and
        notifications first, then metric pulls and digests."""
        return [self.alerts.tick, self.pulls.start_due, self.digests.run_due]

    def close(self) -> None:
        self.runner.shutdown(wait=True)
        self.pulls.shutdown(wait=True)
        self.catalog.close()
