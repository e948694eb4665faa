"""Generated daily usage loaded into a tenant through a real sync, for the alert tests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from costlake.catalog import open_catalog
from costlake.catalog import sources as source_rows
from costlake.catalog.models import BillingSource
from costlake.catalog.runs import list_runs
from costlake.samples.daily_usage import DailyUsage, Injection, SeriesSpec
from costlake.settings import Settings
from costlake.store import Lake
from costlake.sync.engine import SyncContext
from costlake.sync.runner import SyncRunner

TODAY = datetime.now(UTC).date()
SERIES = [
    SeriesSpec("BigQuery", "project-x", 1500, noise=0.04),
    SeriesSpec("BigQuery", "project-y", 900, noise=0.05),
    SeriesSpec("Compute Engine", "project-x", 3000, noise=0.03),
    SeriesSpec("Cloud Storage", "project-y", 400, noise=0.04),
]


@dataclass
class Loaded:
    usage: DailyUsage
    source_id: str
    horizon: date  # the last day taken as complete (the newest day is partial)
    injection: Injection | None

    def total(self, first: date, last: date, currency: str = "USD") -> Decimal:
        table = self.usage.table().to_pylist()
        return sum(
            (row["EffectiveCost"] for row in table if first <= row["ChargePeriodStart"].date() <= last and row["BillingCurrency"] == currency),
            Decimal(0),
        )


def usage_until_today(
    days: int = 110, anomaly_days_ago: int | None = 5, seed: int = 7, currency: str = "USD", series: list[SeriesSpec] | None = None
) -> tuple[DailyUsage, Injection | None]:
    """Daily usage ending today; an 8-sigma volume anomaly on BigQuery/project-x/compute since `anomaly_days_ago`."""
    start = TODAY - timedelta(days=days - 1)
    injection = None
    if anomaly_days_ago is not None:
        injection = Injection("BigQuery", "project-x", TODAY - timedelta(days=anomaly_days_ago), anomaly_days_ago + 1, 8, sku="compute")
    return DailyUsage(start, days, series or SERIES, [injection] if injection else [], seed=seed, currency=currency), injection


def load(settings: Settings, tenant_id: str, folder: Path, usage: DailyUsage, name: str = "usage", injection: Injection | None = None) -> Loaded:
    """Write the usage as FOCUS Parquet, add it as a billing source and sync it (the after-commit hook is owed)."""
    usage.write(folder)
    catalog = open_catalog(settings)
    try:
        source = source_rows.insert_source(
            catalog, BillingSource(tenant_id=tenant_id, name=name, provider="gcp", format="focus", source_uri=f"{folder}/*.parquet", uri_by_operator=True)
        )
        runner = SyncRunner(SyncContext(settings, catalog, Lake(settings)))
        runner.start(source)
        deadline = time.monotonic() + 60
        while list_runs(catalog, source.id, limit=1, cursor=None)[0][0].status in ("queued", "running"):
            assert time.monotonic() < deadline, "sync did not finish"
            time.sleep(0.05)
        run = list_runs(catalog, source.id, limit=1, cursor=None)[0][0]
        assert run.status == "succeeded", run.error
        runner.shutdown()
    finally:
        catalog.close()
    last = usage.start + timedelta(days=usage.days - 1)
    return Loaded(usage, source.id, last - timedelta(days=1), injection)
