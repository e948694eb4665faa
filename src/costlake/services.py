"""What the API needs at hand per process: settings, catalog, lake and the sync runner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from costlake.allocation import Allocation
from costlake.catalog import Catalog, open_catalog
from costlake.hooks import DEFAULT_HANDLERS, Handler
from costlake.query.engine import CostReader
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
    allocation: Allocation

    @classmethod
    def open(cls, settings: Settings, handlers: Sequence[Handler] = DEFAULT_HANDLERS) -> Services:
        """`handlers` are told about commits and removals (costlake.hooks); tests pass their own."""
        catalog = open_catalog(settings)
        lake = Lake(settings)
        runner = SyncRunner(SyncContext(settings, catalog, lake, handlers=handlers))
        reader = CostReader(settings, lake)
        return cls(settings, catalog, lake, runner, reader, Allocation(catalog, reader))

    def close(self) -> None:
        self.runner.shutdown(wait=True)
        self.catalog.close()
