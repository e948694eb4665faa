"""What the API needs at hand per process: settings, catalog, lake and the sync runner."""

from __future__ import annotations

from dataclasses import dataclass

from costlake.catalog import Catalog, open_catalog
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

    @classmethod
    def open(cls, settings: Settings) -> Services:
        catalog = open_catalog(settings)
        lake = Lake(settings)
        return cls(settings, catalog, lake, SyncRunner(SyncContext(settings, catalog, lake)), CostReader(settings, lake))

    def close(self) -> None:
        self.runner.shutdown(wait=True)
        self.catalog.close()
