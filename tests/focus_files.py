"""Small FOCUS files with exactly the rows a test needs (the generator makes the big realistic ones)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = [
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceName",
    "Tags",
]


def focus_row(month: str, cost: str, *, currency: str = "USD", service: str = "Compute", **extra: str) -> dict[str, str]:
    """One usage row on the first day of `month` ("YYYY-MM")."""
    year, number = (int(part) for part in month.split("-"))
    next_month = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    row = {
        "BillingAccountId": "acct-1",
        "BillingCurrency": currency,
        "BillingPeriodStart": f"{month}-01T00:00:00Z",
        "BillingPeriodEnd": f"{next_month}-01T00:00:00Z",
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ChargeCategory": "Usage",
        "ChargePeriodStart": f"{month}-01T00:00:00Z",
        "ChargePeriodEnd": f"{month}-02T00:00:00Z",
        "ProviderName": "AWS",
        "ServiceName": service,
        "Tags": json.dumps({"team": "core"}),
    }
    row.update(extra)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = header or list(dict.fromkeys([*HEADER, *(key for row in rows for key in row)]))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = pa.table({name: pa.array([row.get(name) for row in rows], pa.string()) for name in columns})
    pq.write_table(table, path)
    return path
