"""The exports `costlake demo` writes: FOCUS, plus native AWS CUR 2.0, Azure cost details and GCP billing exports,
each laid out as its provider delivers it, all ending at the same month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from costlake.months import add_months, month_of
from costlake.samples.aws_export import generate_cur2_export
from costlake.samples.azure_export import write_azure_export
from costlake.samples.daily_usage import DailyUsage, Injection, standard_series
from costlake.samples.gcp_export import write_gcp_export
from costlake.samples.generator import generate_focus_export

FOCUS_MONTHS = 4
FOCUS_ROWS_PER_MONTH = 3000
SEED = 42


@dataclass(frozen=True)
class DemoExport:
    name: str
    provider: str
    format: str
    source_uri: str
    first_month: str  # the sync reloads from here, so a re-run replaces every month it wrote


USAGE_DAYS = 120
ANOMALY_DAYS_AGO = 4  # the demo's visible anomaly: BigQuery in project-0000 since four days, driven by one SKU


def write_daily_usage(folder: Path, today: date) -> DemoExport:
    """Daily usage with a weekly rhythm ending today, and one injected anomaly for the alerts to find."""
    series = standard_series(16)
    anomaly = Injection("BigQuery", "project-0000", today - timedelta(days=ANOMALY_DAYS_AGO), ANOMALY_DAYS_AGO + 1, 8, sku="compute")
    usage = DailyUsage(today - timedelta(days=USAGE_DAYS - 1), USAGE_DAYS, series, [anomaly], seed=SEED)
    usage.write(folder)
    return DemoExport("demo daily usage", "gcp", "focus", f"{folder}/*.parquet", month_of(usage.start))


def write_demo_exports(folder: Path, end_month: date, today: date | None = None) -> list[DemoExport]:
    """Write (or rewrite) every demo export under `folder`; deterministic for `end_month` (and `today`, for the
    daily usage that ends on it)."""
    last = month_of(end_month)
    previous = date.fromisoformat(add_months(last, -1) + "-01")
    generate_focus_export(
        folder / "focus-export", end_month=end_month, months=FOCUS_MONTHS, rows_per_month=FOCUS_ROWS_PER_MONTH, seed=SEED
    )
    cur_root = generate_cur2_export(folder / "aws-cur2-export", end_month=end_month, months=2, rows_per_month=2000)
    azure_root = write_azure_export(folder / "azure-export", month=previous, stale_runs=True)
    gcp_folder = folder / "gcp-export"
    write_gcp_export(gcp_folder, first_month=add_months(last, -1), months=2)
    return [
        DemoExport("demo focus export", "aws", "focus", f"{folder / 'focus-export'}/**/*.parquet", add_months(last, 1 - FOCUS_MONTHS)),
        DemoExport("demo aws cur 2.0", "aws", "aws-cur2", str(cur_root), add_months(last, -1)),
        DemoExport("demo azure cost details", "azure", "azure-cost-details", str(azure_root), add_months(last, -1)),
        # The detailed table only: the standard one holds the same costs without resources.
        DemoExport("demo gcp billing export", "gcp", "gcp-billing-export", f"{gcp_folder}/gcp_billing_export_resource_v1_*", add_months(last, -1)),
        write_daily_usage(folder / "daily-usage", today or end_month),
    ]
