"""Deterministic FOCUS 1.2 sample export, written the way a provider lays out its billing files.

Two stages keep it fast and reproducible:
1. Python expands the small catalog into a few thousand *resources* (ids, region, tags, commitment coverage), with
   `random.Random` seeded per resource, and maps 65,536 weighted slots onto them.
2. DuckDB generates the rows with `range()`; every per-row draw is `hash(row, seed, k)` (never `random()`, whose
   sequence depends on thread scheduling), and `COPY ... TO` writes each file. Same inputs, same bytes.
"""

from __future__ import annotations

import bisect
import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from costlake.samples import catalog as cat

FileFormat = Literal["parquet", "csv"]

SLOTS = 65_536  # resolution of the weighted resource pick
MONEY = pa.decimal128(38, 10)
_EXT = {"parquet": "parquet", "csv": "csv"}
# Share of rows per charge kind; Purchase only lands on resources covered by a commitment.
TAX, CREDIT, PURCHASE = 0.012, 0.02, 0.02
ADJUSTMENT_EVERY = 2000  # one Adjustment per this many rows of a month (position 1000)
UNUSED, USED = 0.03, 0.88  # on covered resources: u < UNUSED -> Unused, u < USED -> Used, else Standard overflow
SPOT_SHARE, SPOT_FACTOR = 0.15, Decimal("0.35")
MONTHLY_GROWTH = 0.03


def generate_focus_export(
    out_dir: Path,
    *,
    end_month: date,
    months: int = 3,
    rows_per_month: int = 2000,
    seed: int = 42,
    file_format: FileFormat = "parquet",
    rows_per_file: int = 250_000,
) -> list[Path]:
    """Write `months` billing months ending at `end_month` under `out_dir/billing_period=YYYY-MM/part-NNNNN.<ext>`.

    Earlier output of this function in `out_dir` is replaced. Returns the written files, sorted.
    """
    if end_month.day != 1:
        raise ValueError(f"end_month must be the first day of a month, got {end_month}")
    if months < 1 or rows_per_month < 1 or rows_per_file < 1:
        raise ValueError("months, rows_per_month and rows_per_file must be positive")
    if file_format not in _EXT:
        raise ValueError(f"file_format must be 'parquet' or 'csv', got {file_format!r}")
    out_dir = Path(out_dir)
    _remove_previous_output(out_dir)

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute("SET TimeZone = 'UTC'")
        resources = _resources(seed)
        con.register("resources_src", _resource_table(resources))
        con.register("slots_src", _slot_table(resources))
        con.execute("CREATE TEMP TABLE pick AS SELECT s.slot, r.* FROM slots_src s JOIN resources_src r USING (res)")
        con.execute(f"CREATE MACRO rnd(i, k) AS (hash(i, {int(seed)}::BIGINT, k) >> 11)::DOUBLE / 9007199254740992.0")
        written: list[Path] = []
        for m, start in enumerate(_month_starts(end_month, months)):
            folder = out_dir / f"billing_period={start:%Y-%m}"
            folder.mkdir(parents=True, exist_ok=True)
            for part, lo in enumerate(range(0, rows_per_month, rows_per_file)):
                path = folder / f"part-{part:05d}.{_EXT[file_format]}"
                first = m * rows_per_month + lo
                query = _rows_sql(start, m, first, min(rows_per_file, rows_per_month - lo), rows_per_month, file_format)
                con.execute(f"COPY ({query}) TO '{_sql_str(path)}' ({_copy_options(file_format)})")
                written.append(path)
        return sorted(written)
    finally:
        con.close()


def _remove_previous_output(out_dir: Path) -> None:
    """Delete only files this generator writes, so re-running never leaves months or formats from an older run."""
    for folder in out_dir.glob("billing_period=*"):
        if not folder.is_dir():
            continue
        for f in list(folder.glob("part-*.parquet")) + list(folder.glob("part-*.csv")):
            f.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()


def _month_starts(end_month: date, months: int) -> list[date]:
    index = end_month.year * 12 + end_month.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(months - 1, -1, -1)]


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _sql_str(value: object) -> str:
    return str(value).replace("'", "''")


def _copy_options(file_format: FileFormat) -> str:
    if file_format == "parquet":
        return "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880"
    return "FORMAT csv, HEADER true"


@dataclass(frozen=True)
class _Resource:
    """One billed thing (instance, bucket, function, ...) with everything the rows repeat about it."""

    sub: cat.SubAccount
    account: cat.BillingAccount
    sku: cat.Sku
    region: str | None
    zone: str | None
    resource_id: str
    name: str
    tags: str | None
    commitment: cat.Commitment | None
    spot: bool
    weight: float


def _resources(seed: int) -> list[_Resource]:
    accounts = {a.id: a for a in cat.BILLING_ACCOUNTS}
    services = {s.name: s for s in cat.SERVICES}
    out: list[_Resource] = []
    for sub in cat.SUB_ACCOUNTS:
        account = accounts[sub.billing_account]
        provider = cat.PROVIDERS[account.provider]
        for sku in (k for k in cat.SKUS if services[k.service].provider == account.provider):
            pool = sku.resource_pool or sku.id
            commitments = [c for c in cat.COMMITMENTS if c.billing_account == account.id and sku.service in c.services]
            mean_row_cost = (sku.qty_range[0] + sku.qty_range[1]) / 2 * float(sku.list_price_usd)
            rows_weight = sub.weight * sku.spend_share / mean_row_cost
            raw = [1 / (r + 1) ** 0.7 for r in range(sku.resources_per_sub_account)]  # a few big resources
            for r, w in enumerate(raw):
                # Seeded per resource (not per SKU) so SKUs sharing a pool describe the same resource identically.
                rng = random.Random(f"{seed}|{sub.id}|{pool}|{r}")
                out.append(_resource(rng, sub, account, provider, sku, commitments, rows_weight * w / sum(raw)))
    return out


def _resource(rng: random.Random, sub: cat.SubAccount, account: cat.BillingAccount, provider: cat.Provider,
              sku: cat.Sku, commitments: list[cat.Commitment], weight: float) -> _Resource:
    app = rng.choice(sorted(cat.APPS))
    team = cat.APPS[app]
    region = (sub.regions[0] if rng.random() < 0.75 else rng.choice(sorted(provider.regions))) if sku.regional else None
    zone = region + rng.choice(provider.zone_suffixes) if region and sku.zonal and provider.zone_suffixes else None
    name = f"{app}-{sub.env}-{rng.getrandbits(24):06x}"
    hexid = f"{rng.getrandbits(68):017x}"
    resource_id = sku.resource_id.format(sub=sub.id, region=region or "global", zone=zone, name=name, app=app,
                                         env=sub.env, hex=hexid)
    tags = None if rng.random() < cat.UNTAGGED_SHARE else json.dumps(_tags(rng, app, team, sub.env))
    commitment = rng.choice(commitments) if commitments and rng.random() < 0.55 else None
    spot = sku.spot and commitment is None and rng.random() < SPOT_SHARE
    return _Resource(sub, account, sku, region, zone, resource_id, name, tags, commitment, spot, weight)


def _pick_key(rng: random.Random, variants: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in variants], weights=[w for _, w in variants])[0]


def _tags(rng: random.Random, app: str, team: str, env: str) -> dict[str, str]:
    """2-5 keys, with the messy key spellings real tagging policies end up with."""
    tags = {_pick_key(rng, cat.TEAM_KEYS): team, _pick_key(rng, cat.ENV_KEYS): env}
    if rng.random() < 0.6:
        tags[_pick_key(rng, cat.COST_CENTER_KEYS)] = cat.COST_CENTERS[team]
    if rng.random() < 0.6:
        tags["app"] = app
    if rng.random() < 0.3:
        tags["owner"] = f"{team}@acme.example"
    return tags


def _resource_table(resources: list[_Resource]) -> pa.Table:
    rows = []
    for idx, r in enumerate(resources):
        sku, account, c = r.sku, r.account, r.commitment
        provider = cat.PROVIDERS[account.provider]
        service = next(s for s in cat.SERVICES if s.name == sku.service)
        unit_usd = sku.list_price_usd * (SPOT_FACTOR if r.spot else 1 - account.negotiated_discount)
        rows.append({
            "res": idx,
            "provider": provider.name, "publisher": provider.publisher, "invoice_issuer": provider.invoice_issuer,
            "ba_id": account.id, "ba_name": account.name, "ba_type": account.type, "currency": account.currency,
            "invoice_prefix": account.invoice_prefix, "tax_description": account.tax_description,
            "credit_description": provider.credit_description,
            "sub_id": r.sub.id, "sub_name": r.sub.name, "sub_type": r.sub.type,
            "service": service.name, "category": service.category, "subcategory": service.subcategory,
            "sku_id": sku.id, "sku_meter": sku.meter, "sku_description": sku.description,
            "sku_price_details": json.dumps(dict(sku.price_details)) if sku.price_details else None,
            "pricing_unit": sku.pricing_unit, "consumed_unit": sku.consumed_unit,
            "consumed_per_pricing": sku.consumed_per_pricing_unit,
            "qty_lo": sku.qty_range[0], "qty_hi": sku.qty_range[1], "hourly": sku.hourly,
            "fx": account.fx_from_usd,
            "list_unit": _q(sku.list_price_usd * account.fx_from_usd), "contracted_unit": _q(unit_usd * account.fx_from_usd),
            "list_unit_usd": sku.list_price_usd, "contracted_unit_usd": _q(unit_usd),
            "spot": r.spot,
            "region_id": r.region, "region_name": provider.regions[r.region] if r.region else None, "zone": r.zone,
            "resource_id": r.resource_id, "resource_name": r.name, "resource_type": sku.resource_type, "tags": r.tags,
            "cd_id": c.id if c else None, "cd_name": c.name if c else None, "cd_type": c.type if c else None,
            "cd_category": c.category if c else None, "cd_keep": 1 - c.discount if c else None,
        })
    money = {"consumed_per_pricing", "fx", "list_unit", "contracted_unit", "list_unit_usd", "contracted_unit_usd",
             "cd_keep"}
    schema = pa.schema([
        pa.field(k, MONEY if k in money else pa.int32() if k == "res" else pa.float64() if k.startswith("qty_")
                 else pa.bool_() if k in ("hourly", "spot") else pa.string())
        for k in rows[0]
    ])
    return pa.Table.from_pylist(rows, schema=schema)


def _q(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1e-10"))


def _slot_table(resources: list[_Resource]) -> pa.Table:
    """Map SLOTS equal slots onto resources in proportion to their weight (deterministic, no sampling noise)."""
    weights = [r.weight for r in resources]
    total = sum(weights)
    cumulative, acc = [], 0.0
    for w in weights:
        acc += w / total
        cumulative.append(acc)
    picks = [min(bisect.bisect_right(cumulative, (s + 0.5) / SLOTS), len(weights) - 1) for s in range(SLOTS)]
    return pa.table({"slot": pa.array(range(SLOTS), pa.int64()), "res": pa.array(picks, pa.int32())})


# FOCUS 1.2 Cost and Usage columns, in the spec's (alphabetical) order, as SQL over the generated row `x`.
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("AvailabilityZone", "CASE WHEN kind = 'Usage' AND cd_status IS DISTINCT FROM 'Unused' THEN zone END"),
    ("BilledCost", "billed"),
    ("BillingAccountId", "ba_id"),
    ("BillingAccountName", "ba_name"),
    ("BillingAccountType", "ba_type"),
    ("BillingCurrency", "currency"),
    ("BillingPeriodEnd", "{ts:bp_end}"),
    ("BillingPeriodStart", "{ts:bp_start}"),
    ("CapacityReservationId", "NULL::VARCHAR"),
    ("CapacityReservationStatus", "NULL::VARCHAR"),
    ("ChargeCategory", "kind"),
    ("ChargeClass", "NULL::VARCHAR"),
    ("ChargeDescription", """CASE kind WHEN 'Usage' THEN CASE WHEN cd_status = 'Unused'
        THEN 'Unused commitment: ' || cd_name ELSE sku_description END
        WHEN 'Purchase' THEN cd_name || ' - recurring fee' WHEN 'Tax' THEN tax_description
        WHEN 'Credit' THEN credit_description ELSE 'Service level agreement refund' END"""),
    ("ChargeFrequency", "CASE kind WHEN 'Usage' THEN 'Usage-Based' WHEN 'Purchase' THEN 'Recurring' "
                        "WHEN 'Tax' THEN 'Recurring' ELSE 'One-Time' END"),
    ("ChargePeriodEnd", "{ts:cp_end}"),
    ("ChargePeriodStart", "{ts:cp_start}"),
    ("CommitmentDiscountCategory", "CASE WHEN has_cd THEN cd_category END"),
    ("CommitmentDiscountId", "CASE WHEN has_cd THEN cd_id END"),
    ("CommitmentDiscountName", "CASE WHEN has_cd THEN cd_name END"),
    ("CommitmentDiscountQuantity", """CASE WHEN has_cd THEN CASE WHEN cd_category = 'Usage' THEN pq
        WHEN kind = 'Purchase' THEN billed ELSE effective END END"""),
    ("CommitmentDiscountStatus", "cd_status"),
    ("CommitmentDiscountType", "CASE WHEN has_cd THEN cd_type END"),
    ("CommitmentDiscountUnit", "CASE WHEN has_cd THEN CASE WHEN cd_category = 'Usage' THEN pricing_unit "
                               "ELSE currency END END"),
    ("ConsumedQuantity", "CASE WHEN consumed THEN (qty * consumed_per_pricing)::DECIMAL(38, 10) END"),
    ("ConsumedUnit", "CASE WHEN consumed THEN consumed_unit END"),
    ("ContractedCost", "contracted"),
    ("ContractedUnitPrice", "CASE WHEN priced THEN contracted_unit END"),
    ("EffectiveCost", "effective"),
    ("InvoiceId", "invoice_prefix || '{yyyymm}'"),
    ("InvoiceIssuerName", "invoice_issuer"),
    ("ListCost", "list_cost"),
    ("ListUnitPrice", "CASE WHEN priced THEN list_unit END"),
    ("PricingCategory", "pricing_category"),
    ("PricingCurrency", "'USD'"),
    ("PricingCurrencyContractedUnitPrice", "CASE WHEN priced THEN contracted_unit_usd END"),
    ("PricingCurrencyEffectiveCost", "effective_usd"),
    ("PricingCurrencyListUnitPrice", "CASE WHEN priced THEN list_unit_usd END"),
    ("PricingQuantity", "CASE WHEN priced THEN pq END"),
    ("PricingUnit", "CASE WHEN priced THEN pricing_unit END"),
    ("ProviderName", "provider"),
    ("PublisherName", "publisher"),
    ("RegionId", "CASE WHEN kind IN ('Usage', 'Purchase') THEN region_id END"),
    ("RegionName", "CASE WHEN kind IN ('Usage', 'Purchase') THEN region_name END"),
    ("ResourceId", "CASE WHEN kind = 'Purchase' OR cd_status = 'Unused' THEN cd_id "
                   "WHEN kind = 'Usage' THEN resource_id END"),
    ("ResourceName", "CASE WHEN kind = 'Purchase' OR cd_status = 'Unused' THEN cd_name "
                     "WHEN kind = 'Usage' THEN resource_name END"),
    ("ResourceType", "CASE WHEN kind = 'Purchase' OR cd_status = 'Unused' THEN cd_type "
                     "WHEN kind = 'Usage' THEN resource_type END"),
    ("ServiceCategory", "category"),
    ("ServiceName", "service"),
    ("ServiceSubcategory", "subcategory"),
    ("SkuId", "CASE WHEN priced THEN sku_id END"),
    ("SkuMeter", "CASE WHEN priced THEN sku_meter END"),
    ("SkuPriceDetails", "CASE WHEN priced THEN sku_price_details END"),
    ("SkuPriceId", "CASE WHEN priced THEN sku_id || '.' || CASE WHEN kind = 'Purchase' THEN 'CommitmentFee' "
                   "ELSE pricing_category END END"),
    ("SubAccountId", "sub_id"),
    ("SubAccountName", "sub_name"),
    ("SubAccountType", "sub_type"),
    ("Tags", "CASE WHEN kind = 'Usage' AND cd_status IS DISTINCT FROM 'Unused' THEN tags END"),
)
FOCUS_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _COLUMNS)


def _rows_sql(month_start: date, m: int, first: int, count: int, rows_per_month: int, file_format: FileFormat) -> str:
    """SQL for rows [first, first + count) of month index `m`; costs are exact DECIMAL(38,10) arithmetic."""
    bp_start = datetime(month_start.year, month_start.month, 1)
    bp_end = datetime.combine(_next_month(month_start), datetime.min.time())
    hours = int((bp_end - bp_start) / timedelta(hours=1))
    month_first_row = m * rows_per_month
    growth = round(1 + MONTHLY_GROWTH * m, 4)
    d = "DECIMAL(38, 10)"

    def ts(expr: str) -> str:
        if file_format == "parquet":
            return f"({expr})::TIMESTAMPTZ"
        return f"strftime({expr}, '%Y-%m-%dT%H:%M:%SZ')"

    def render(expr: str) -> str:
        for col in ("bp_start", "bp_end", "cp_start", "cp_end"):
            expr = expr.replace(f"{{ts:{col}}}", ts(col))
        return expr.replace("{yyyymm}", f"{month_start:%Y%m}")

    select = ",\n  ".join(f'{render(expr)} AS "{name}"' for name, expr in _COLUMNS)
    return f"""
WITH g AS (
  SELECT i, i - {month_first_row} AS j, floor(rnd(i, 1) * {SLOTS})::BIGINT AS slot,
         rnd(i, 2) AS u_kind, rnd(i, 3) AS u_qty, rnd(i, 4) AS u_cd
  FROM range({first}, {first + count}) t(i)
), k AS (
  SELECT g.*, p.*,
    CASE WHEN j % {ADJUSTMENT_EVERY} = {ADJUSTMENT_EVERY // 2} THEN 'Adjustment'
         WHEN u_kind < {TAX} THEN 'Tax'
         WHEN u_kind < {TAX + CREDIT} THEN 'Credit'
         WHEN u_kind < {TAX + CREDIT + PURCHASE} AND cd_id IS NOT NULL THEN 'Purchase'
         ELSE 'Usage' END AS kind,
    CASE WHEN kind <> 'Usage' OR cd_id IS NULL OR u_cd >= {USED} THEN NULL
         WHEN u_cd < {UNUSED} THEN 'Unused' ELSE 'Used' END AS cd_status,
    kind = 'Purchase' OR cd_status IS NOT NULL AS has_cd,
    kind IN ('Usage', 'Purchase') AS priced,
    kind = 'Usage' AND cd_status IS DISTINCT FROM 'Unused' AS consumed,
    CASE kind WHEN 'Usage' THEN CASE WHEN cd_status IS NOT NULL THEN 'Committed'
                                     WHEN spot THEN 'Dynamic' ELSE 'Standard' END
              WHEN 'Purchase' THEN 'Standard' END AS pricing_category,
    round((qty_lo + (qty_hi - qty_lo) * u_qty) * {growth}, 6)::{d} AS qty,
    CASE WHEN kind = 'Purchase' THEN qty * 24 ELSE qty END::{d} AS pq,
    (j * {hours}) // {rows_per_month} AS hour
  FROM g JOIN pick p USING (slot)
), x AS (
  SELECT k.*,
    TIMESTAMP '{bp_start:%Y-%m-%d %H:%M:%S}' AS bp_start,
    TIMESTAMP '{bp_end:%Y-%m-%d %H:%M:%S}' AS bp_end,
    CASE WHEN kind IN ('Tax', 'Adjustment') THEN bp_start
         WHEN hourly AND kind = 'Usage' THEN bp_start + to_hours(hour)
         ELSE bp_start + to_hours(hour // 24 * 24) END AS cp_start,
    CASE WHEN kind IN ('Tax', 'Adjustment') THEN bp_end
         WHEN hourly AND kind = 'Usage' THEN cp_start + INTERVAL 1 HOUR
         ELSE cp_start + INTERVAL 1 DAY END AS cp_end,
    (pq * list_unit)::{d} AS list_priced,
    (pq * contracted_unit)::{d} AS contracted_priced,
    (pq * contracted_unit_usd)::{d} AS contracted_priced_usd,
    CASE kind WHEN 'Tax' THEN 6.5 WHEN 'Credit' THEN -1.5 WHEN 'Adjustment' THEN -20 END::{d} AS factor,
    CASE WHEN priced THEN contracted_priced_usd ELSE (contracted_priced_usd * factor)::{d} END AS amount_usd,
    CASE WHEN priced THEN contracted_priced ELSE (contracted_priced * factor)::{d} END AS amount,
    CASE WHEN kind = 'Purchase' THEN 0::{d}
         WHEN cd_status IS NOT NULL THEN (amount * cd_keep)::{d} ELSE amount END AS effective,
    CASE WHEN kind = 'Purchase' THEN 0::{d}
         WHEN cd_status IS NOT NULL THEN (amount_usd * cd_keep)::{d} ELSE amount_usd END AS effective_usd,
    CASE WHEN kind = 'Purchase' THEN (amount * cd_keep)::{d}
         WHEN cd_status IS NOT NULL THEN 0::{d} ELSE amount END AS billed,
    CASE WHEN priced THEN list_priced ELSE amount END AS list_cost,
    amount AS contracted
  FROM k
)
SELECT
  {select}
FROM x"""
