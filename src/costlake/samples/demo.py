"""The exports `costlake demo` writes: FOCUS (several clouds in one export), plus native AWS CUR 2.0, Azure cost
details and GCP billing exports, each laid out as its provider delivers it. Every one covers the same months and
ends yesterday, like a real export a day behind: the current month holds the days so far."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from costlake.formats.contract import MULTICLOUD
from costlake.months import add_months, month_of
from costlake.samples.aws_export import generate_cur2_export
from costlake.samples.azure_export import write_azure_export
from costlake.samples.daily_usage import DailyUsage, Injection, standard_series
from costlake.samples.gcp_export import write_gcp_export
from costlake.samples.generator import generate_focus_export

MONTHS = 4
FOCUS_ROWS_PER_MONTH = 3000
CUR_ROWS_PER_MONTH = 2000
GCP_DAYS = 28  # daily GCP rows on days 1..28 of each month (every month has them)
SEED = 42


@dataclass(frozen=True)
class DemoExport:
    name: str  # says what the source holds
    provider: str
    format: str
    source_uri: str
    first_month: str  # the sync reloads from here, so a re-run replaces every month it wrote


ANOMALY_DAYS_AGO = 4  # the demo's visible anomaly: BigQuery in project-0000 since four days, driven by one SKU


def write_daily_usage(folder: Path, first: date, last: date) -> DemoExport:
    """Daily usage with a weekly rhythm from `first` to `last` (the months every demo source covers: 3-4 months,
    enough history for the detector's weekday baseline), and one injected anomaly for the alerts to find."""
    series = standard_series(16)
    anomaly = Injection("BigQuery", "project-0000", last - timedelta(days=ANOMALY_DAYS_AGO), ANOMALY_DAYS_AGO + 1, 8, sku="compute")
    usage = DailyUsage(first, (last - first).days + 1, series, [anomaly], seed=SEED)
    usage.write(folder)
    return DemoExport("demo daily usage", "gcp", "focus", f"{folder}/*.parquet", month_of(usage.start))


def write_demo_exports(folder: Path, today: date) -> list[DemoExport]:
    """Write (or rewrite) every demo export under `folder`, holding data up to the day before `today`;
    deterministic for `today`."""
    last = month_of(today - timedelta(days=1))
    first = add_months(last, 1 - MONTHS)
    end_month = date.fromisoformat(f"{last}-01")
    generate_focus_export(
        folder / "focus-export", end_month=end_month, months=MONTHS, rows_per_month=FOCUS_ROWS_PER_MONTH, seed=SEED, through=today
    )
    cur_root = generate_cur2_export(
        folder / "aws-cur2-export", end_month=end_month, months=MONTHS, rows_per_month=CUR_ROWS_PER_MONTH, through=today
    )
    azure_root = folder / "azure-export"
    shutil.rmtree(azure_root, ignore_errors=True)  # its months are written one by one: no run of an earlier demo stays
    for index in range(MONTHS):
        # A month-to-date export re-run daily: the oldest month keeps its superseded runs, as Cost Management leaves them.
        month = date.fromisoformat(f"{add_months(first, index)}-01")
        write_azure_export(azure_root, month=month, stale_runs=index == 0, through=today)
    gcp_folder = folder / "gcp-export"
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    write_gcp_export(gcp_folder, first_month=first, months=MONTHS, days=GCP_DAYS, through=midnight)
    return [
        DemoExport("demo FOCUS export: AWS, Azure and Google Cloud", MULTICLOUD, "focus", f"{folder / 'focus-export'}/**/*.parquet", first),
        DemoExport("demo AWS CUR 2.0", "aws", "aws-cur2", str(cur_root), first),
        DemoExport("demo Azure cost details (EUR)", "azure", "azure-cost-details", str(azure_root), first),
        # The detailed table only: the standard one holds the same costs without resources.
        DemoExport("demo Google Cloud billing export", "gcp", "gcp-billing-export", f"{gcp_folder}/gcp_billing_export_resource_v1_*", first),
        write_daily_usage(folder / "daily-usage", date.fromisoformat(f"{first}-01"), today - timedelta(days=1)),
    ]
