"""Deterministic daily usage with a weekly rhythm and injected anomalies of known start and size, as FOCUS Parquet.

For the alert tests, the demo and the benchmark: each series (a service in a sub account) has a daily level, a
weekly profile (quieter weekends), a slow trend and Gaussian noise of `noise` x level; its cost is spread over a
few SKUs in a region, each on its own resource, with a consumed quantity at a fixed unit price. An injection adds
`sigmas` x the series' noise sigma to one SKU of one series for `days` days, as more volume (the quantity grows)
or a higher rate (the unit price grows). Money is integer cents until it is written as an exact decimal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

WEEKLY_PROFILE = (1.0, 1.04, 1.06, 1.03, 0.97, 0.62, 0.58)  # Monday .. Sunday
CENT = pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))
MICRO = pa.scalar(Decimal("0.000001"), pa.decimal128(7, 6))


@dataclass(frozen=True)
class SeriesSpec:
    service: str
    sub_account: str
    level: float  # mean daily cost on a weekday
    noise: float = 0.05  # sigma as a fraction of the level
    trend: float = 0.0  # growth per 30 days, as a fraction
    region: str = "europe-west1"
    skus: tuple[tuple[str, float, float], ...] = (("compute", 0.6, 0.05), ("storage", 0.3, 0.02), ("network", 0.1, 0.09))
    # (sku, share of the cost, unit price); each SKU is one resource of the series
    team: str = "core"

    def sigma(self) -> float:
        return self.noise * self.level


@dataclass(frozen=True)
class Injection:
    service: str
    sub_account: str
    start: date
    days: int
    sigmas: float
    sku: str = "compute"
    kind: Literal["volume", "rate"] = "volume"


@dataclass
class DailyUsage:
    start: date
    days: int
    series: list[SeriesSpec]
    injections: list[Injection] = field(default_factory=list)
    seed: int = 7
    currency: str = "USD"

    def table(self) -> pa.Table:
        rng = np.random.default_rng(self.seed)
        n_days, n_series = self.days, len(self.series)
        day_index = np.arange(n_days)
        weekdays = np.array([(self.start + timedelta(days=int(i))).weekday() for i in day_index])
        profile = np.array(WEEKLY_PROFILE)[weekdays]
        levels = np.array([s.level for s in self.series])[:, None]
        trends = np.array([s.trend for s in self.series])[:, None]
        sigmas = np.array([s.sigma() for s in self.series])[:, None]
        totals = levels * profile[None, :] * (1 + trends * day_index[None, :] / 30) + rng.normal(0, 1, (n_series, n_days)) * sigmas
        totals = np.maximum(totals, 0)
        columns: dict[str, list[np.ndarray]] = {name: [] for name in ("series", "day", "sku", "cents", "micro_qty", "price")}
        for s_index, spec in enumerate(self.series):
            for sku, share, price in spec.skus:
                cost = totals[s_index] * share
                price_per_day = np.full(n_days, price)
                for injection in self.injections:
                    if (injection.service, injection.sub_account, injection.sku) != (spec.service, spec.sub_account, sku):
                        continue
                    first = (injection.start - self.start).days
                    window = slice(max(first, 0), max(min(first + injection.days, n_days), 0))
                    extra = injection.sigmas * spec.sigma()
                    if injection.kind == "rate":
                        price_per_day[window] = price * (1 + extra / np.maximum(cost[window], 1e-9))
                    cost = cost.copy()
                    cost[window] += extra
                columns["series"].append(np.full(n_days, s_index))
                columns["day"].append(day_index)
                columns["sku"].append(np.full(n_days, sku, dtype=object))
                cents = np.round(cost * 100).astype(np.int64)
                columns["cents"].append(cents)
                columns["micro_qty"].append(np.round(cents / 100 / price_per_day * 1e6).astype(np.int64))
                columns["price"].append(price_per_day)
        series_index = np.concatenate(columns["series"])
        days = np.concatenate(columns["day"])
        skus = np.concatenate(columns["sku"])
        cents = pa.array(np.concatenate(columns["cents"]), pa.int64()).cast(pa.decimal128(20, 0))
        quantity = pa.array(np.concatenate(columns["micro_qty"]), pa.int64()).cast(pa.decimal128(24, 0))
        cost = pc.multiply(cents, CENT)
        starts = np.datetime64(self.start.isoformat(), "us") + days.astype("timedelta64[D]")
        month_start = starts.astype("datetime64[M]")
        rows = len(days)
        utc = pa.timestamp("us", tz="UTC")

        def per_series(values: list[str]) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(series_index, pa.int32()), pa.array(values, pa.string()))

        def constant(value: str) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([value]))

        sku_names, sku_index = np.unique(skus.astype(str), return_inverse=True)
        resource_index = series_index * len(sku_names) + sku_index
        resources = [f"{s.sub_account}/{s.service}/{sku}" for s in self.series for sku in sku_names]
        return pa.table(
            {
                "BillingAccountId": constant("billing-1"),
                "BillingCurrency": constant(self.currency),
                "BillingPeriodStart": pa.array(month_start.astype("datetime64[us]"), utc),
                "BillingPeriodEnd": pa.array((month_start + 1).astype("datetime64[us]"), utc),
                "ChargePeriodStart": pa.array(starts, utc),
                "ChargePeriodEnd": pa.array(starts + np.timedelta64(1, "D"), utc),
                "ChargeCategory": constant("Usage"),
                "BilledCost": cost,
                "EffectiveCost": cost,
                "ListCost": cost,
                "ContractedCost": cost,
                "ConsumedQuantity": pc.multiply(quantity, MICRO),
                "ConsumedUnit": constant("Units"),
                "ProviderName": constant("Cloud"),
                "ServiceName": per_series([s.service for s in self.series]),
                "SubAccountId": per_series([s.sub_account for s in self.series]),
                "RegionId": per_series([s.region for s in self.series]),
                "SkuId": pa.DictionaryArray.from_arrays(pa.array(sku_index.astype(np.int32)), pa.array(list(sku_names))),
                "ResourceId": pa.DictionaryArray.from_arrays(pa.array(resource_index.astype(np.int32)), pa.array(resources)),
                "Tags": per_series([json.dumps({"team": s.team}) for s in self.series]),
            }
        )

    def write(self, folder: Path, rows_per_file: int = 1_000_000) -> list[Path]:
        """One Parquet file per billing month (split past rows_per_file); earlier output in `folder` is replaced."""
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("usage-*.parquet"):
            old.unlink()
        table = self.table()
        months = pc.strftime(table["ChargePeriodStart"], format="%Y-%m")
        written = []
        for month in sorted(set(months.to_pylist())):
            part = table.filter(pc.equal(months, month))
            for n, offset in enumerate(range(0, part.num_rows, rows_per_file)):
                path = folder / f"usage-{month}-{n:03d}.parquet"
                pq.write_table(part.slice(offset, rows_per_file), path)
                written.append(path)
        return written


def standard_series(count: int, seed: int = 3, skus: tuple[tuple[str, float, float], ...] | None = None) -> list[SeriesSpec]:
    """`count` series across services and sub accounts, levels from 50 to 5,000 a day, noise 3-8 %."""
    rng = np.random.default_rng(seed)
    services = ("Compute Engine", "BigQuery", "Cloud Storage", "Cloud SQL", "Kubernetes Engine", "Pub/Sub", "Dataflow", "Vertex AI")
    out = []
    for index in range(count):
        spec = SeriesSpec(
            service=services[index % len(services)],
            sub_account=f"project-{index // len(services):04d}",
            level=float(np.round(rng.uniform(50, 5000), 2)),
            noise=float(np.round(rng.uniform(0.03, 0.08), 3)),
            trend=float(np.round(rng.uniform(-0.01, 0.02), 3)),
            team=("core", "data", "web")[index % 3],
        )
        out.append(replace(spec, skus=skus) if skus else spec)
    return out



