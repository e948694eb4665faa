#!/usr/bin/env python3
"""Evaluating every alert of a tenant: 10M rows, 2,000 series, the default monitor (by service and sub account), a
budget and the data notifications, in one `evaluate_tenant` call as the scheduler makes it.

Not a test (timings depend on the machine): run it by hand, see docs/benchmarks.md. Steps: generate a year of daily
usage (costlake.samples.daily_usage: 2,000 series x 14 SKUs, 20 injected anomalies), sync it into a throwaway home
(SQLite catalog, local lake), then time the evaluation: the first one with a cold reader (a worker that just
started), then warm ones (the scheduler's hourly runs). Target: under 10 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from costlake.alerts.evaluation import AlertContext, evaluate_tenant
from costlake.catalog import alerts as rows
from costlake.catalog import open_catalog, tenant_rows
from costlake.catalog import sources as source_rows
from costlake.catalog.models import BillingSource, Budget
from costlake.catalog.runs import list_runs
from costlake.catalog.tenants import create_tenant
from costlake.query.engine import CostReader
from costlake.samples.daily_usage import DailyUsage, Injection, standard_series
from costlake.settings import Settings
from costlake.store import Lake
from costlake.sync.engine import SyncContext
from costlake.sync.runner import SyncRunner

TARGET_SECONDS = 10.0
SKUS = tuple((f"sku-{k:02d}", 1 / 14, 0.01 * (k + 1)) for k in range(14))


def generate(folder: Path, series: int, days: int) -> tuple[int, float, list[Injection]]:
    today = datetime.now(UTC).date()
    specs = standard_series(series, skus=SKUS)
    rng = np.random.default_rng(5)
    injections = [
        Injection(specs[i].service, specs[i].sub_account, today - timedelta(days=int(rng.integers(2, 20))), 10, 8, sku="sku-00")
        for i in rng.choice(series, 20, replace=False)
    ]
    started = time.perf_counter()
    usage = DailyUsage(today - timedelta(days=days - 1), days, specs, injections)
    files = usage.write(folder, rows_per_file=2_000_000)
    count = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return count, time.perf_counter() - started, injections


def main() -> int:
    """Exit 0 when every evaluation took under the target and every injected anomaly was found, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3, help="warm evaluations after the cold one")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="costlake-alerts-bench-", dir=args.workdir))
    try:
        settings = Settings(home=root / "home")
        count, generate_seconds, injections = generate(root / "export", args.series, args.days)
        catalog = open_catalog(settings)
        lake = Lake(settings)
        tenant = create_tenant(catalog, "bench")
        source = source_rows.insert_source(
            catalog, BillingSource(tenant_id=tenant.id, name="usage", provider="gcp", format="focus", source_uri=f"{root / 'export'}/*.parquet",
                                   uri_by_operator=True)
        )
        runner = SyncRunner(SyncContext(settings, catalog, lake, handlers=()))
        started = time.perf_counter()
        runner.start(source)
        while (sync_run := list_runs(catalog, source.id, limit=1, cursor=None)[0][0]).status in ("queued", "running"):
            time.sleep(0.2)
        sync_seconds = time.perf_counter() - started
        if sync_run.status != "succeeded":
            raise SystemExit(f"the sync ended {sync_run.status}: {sync_run.error}")
        runner.shutdown()
        tenant_rows.insert_row(catalog, Budget(tenant_id=tenant.id, name="all", filters=[], metric="EffectiveCost", period="month",
                                          amount=10**7, currency="USD", thresholds=[{"kind": "forecast", "percent": 100}], channels=[]))
        timings = []
        reports = []
        context = AlertContext(settings, catalog, CostReader(settings, lake))
        for run in range(args.runs + 1):
            started = time.perf_counter()
            reports.append(evaluate_tenant(context, tenant.id, owner=f"bench-{run}"))
            timings.append(time.perf_counter() - started)
        anomalies, _ = rows.list_anomalies(catalog, tenant.id, status=None, monitor_id=None, limit=200, cursor=None)
        found = sum(
            any(a.series == {"ServiceName": i.service, "SubAccountId": i.sub_account} and abs((a.start_date - i.start).days) <= 1 for a in anomalies)
            for i in injections
        )
        result = {
            "rows": count, "series": args.series, "days": args.days, "generate_s": round(generate_seconds, 2), "sync_s": round(sync_seconds, 2),
            "evaluate_cold_s": round(timings[0], 2), "evaluate_warm_median_s": round(statistics.median(timings[1:]), 2) if args.runs else None,
            "evaluate_warm_s": [round(t, 2) for t in timings[1:]], "anomalies": len(anomalies), "injected": len(injections), "injected_found": found,
            "target_s": TARGET_SECONDS, "met": max(timings) < TARGET_SECONDS and found == len(injections),
        }
        catalog.close()
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            for key, value in result.items():
                print(f"{key:>24}: {value}")
        if args.keep:
            print(f"kept {root}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
