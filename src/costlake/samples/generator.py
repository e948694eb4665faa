"""Deterministic FOCUS 1.2 sample export, laid out the way a provider writes its billing files.

Two stages keep it fast and reproducible:
1. `resources.py` expands the catalog into several hundred resources and a weighted pick table (seeded Python).
2. DuckDB generates the rows with `range()`. Every per-row draw is `hash(row, seed, k)`, never `random()`, whose
   sequence depends on thread scheduling; money is integer arithmetic in units of 1e-10, written as DECIMAL(38,10);
   `COPY ... TO` writes each file. The same inputs give the same bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal

import duckdb

from costlake.samples.resources import KEEP_SCALE, MONEY_SCALE, SLOTS, build_resources, resource_table, slot_table

FileFormat = Literal["parquet", "csv"]

QTY_SCALE = 10**6  # quantities are integers of 1e-6 in SQL
# Row mix. Purchase only lands on resources covered by a commitment; one Adjustment per ADJUSTMENT_EVERY rows.
TAX, CREDIT, PURCHASE = 0.012, 0.02, 0.02
ADJUSTMENT_EVERY = 2000
UNUSED, USED = 0.03, 0.88  # rows of covered resources: < UNUSED Unused, < USED Used, else on-demand overflow
MONTHLY_GROWTH = 0.03  # usage grows month over month, so trend charts have something to show

# FOCUS 1.2 Cost and Usage columns in the spec's order, as SQL over the prepared row (see _rows_sql).
# {ts:x} renders timestamp x for the file format; {yyyymm} is the billing month.
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("AvailabilityZone", "CASE WHEN consumed THEN zone END"),
    ("BilledCost", "{money:billed_u}"),
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
    ("ChargeDescription", ("CASE kind WHEN 'Usage' THEN CASE WHEN cd_status = 'Unused' "
                           "THEN 'Unused commitment: ' || cd_name ELSE sku_description END "
                           "WHEN 'Purchase' THEN cd_name || ' - recurring fee' WHEN 'Tax' THEN tax_description "
                           "WHEN 'Credit' THEN credit_description ELSE 'Service level agreement refund' END")),
    ("ChargeFrequency", ("CASE kind WHEN 'Usage' THEN 'Usage-Based' WHEN 'Purchase' THEN 'Recurring' "
                         "WHEN 'Tax' THEN 'Recurring' ELSE 'One-Time' END")),
    ("ChargePeriodEnd", "{ts:cp_end}"),
    ("ChargePeriodStart", "{ts:cp_start}"),
    ("CommitmentDiscountCategory", "CASE WHEN has_cd THEN cd_category END"),
    ("CommitmentDiscountId", "CASE WHEN has_cd THEN cd_id END"),
    ("CommitmentDiscountName", "CASE WHEN has_cd THEN cd_name END"),
    ("CommitmentDiscountQuantity", ("CASE WHEN NOT has_cd THEN NULL WHEN cd_category = 'Usage' THEN {qty:pq_u} "
                                    "WHEN kind = 'Purchase' THEN {money:billed_u} ELSE {money:effective_u} END")),
    ("CommitmentDiscountStatus", "cd_status"),
    ("CommitmentDiscountType", "CASE WHEN has_cd THEN cd_type END"),
    ("CommitmentDiscountUnit", ("CASE WHEN NOT has_cd THEN NULL WHEN cd_category = 'Usage' THEN pricing_unit "
                                "ELSE currency END")),
    ("ConsumedQuantity", "CASE WHEN consumed THEN {qty:qty_u * consumed_per_pricing} END"),
    ("ConsumedUnit", "CASE WHEN consumed THEN consumed_unit END"),
    ("ContractedCost", "{money:amount_u}"),
    ("ContractedUnitPrice", "CASE WHEN priced THEN {money:contracted_p} END"),
    ("EffectiveCost", "{money:effective_u}"),
    ("InvoiceId", "invoice_prefix || '{yyyymm}'"),
    ("InvoiceIssuerName", "invoice_issuer"),
    ("ListCost", "{money:list_cost_u}"),
    ("ListUnitPrice", "CASE WHEN priced THEN {money:list_p} END"),
    ("PricingCategory", "pricing_category"),
    ("PricingCurrency", "'USD'"),
    ("PricingCurrencyContractedUnitPrice", "CASE WHEN priced THEN {money:contracted_p_usd} END"),
    ("PricingCurrencyEffectiveCost", "{money:effective_usd_u}"),
    ("PricingCurrencyListUnitPrice", "CASE WHEN priced THEN {money:list_p_usd} END"),
    ("PricingQuantity", "CASE WHEN priced THEN {qty:pq_u} END"),
    ("PricingUnit", "CASE WHEN priced THEN pricing_unit END"),
    ("ProviderName", "provider"),
    ("PublisherName", "publisher"),
    ("RegionId", "CASE WHEN on_commitment THEN cd_region_id WHEN priced THEN region_id END"),
    ("RegionName", "CASE WHEN on_commitment THEN cd_region_name WHEN priced THEN region_name END"),
    ("ResourceId", "CASE WHEN on_commitment THEN cd_id WHEN kind = 'Usage' THEN resource_id END"),
    ("ResourceName", "CASE WHEN on_commitment THEN cd_name WHEN kind = 'Usage' THEN resource_name END"),
    ("ResourceType", "CASE WHEN on_commitment THEN cd_type WHEN kind = 'Usage' THEN resource_type END"),
    ("ServiceCategory", "category"),
    ("ServiceName", "service"),
    ("ServiceSubcategory", "subcategory"),
    ("SkuId", "CASE WHEN priced THEN sku_id END"),
    ("SkuMeter", "CASE WHEN priced THEN sku_meter END"),
    ("SkuPriceDetails", "CASE WHEN priced THEN sku_price_details END"),
    ("SkuPriceId", ("CASE WHEN priced THEN sku_id || '.' || "
                    "CASE WHEN kind = 'Purchase' THEN 'CommitmentFee' ELSE pricing_category END END")),
    ("SubAccountId", "CASE WHEN on_commitment THEN cd_sub_id ELSE sub_id END"),
    ("SubAccountName", "CASE WHEN on_commitment THEN cd_sub_name ELSE sub_name END"),
    ("SubAccountType", "CASE WHEN on_commitment THEN cd_sub_type ELSE sub_type END"),
    ("Tags", "CASE WHEN consumed THEN tags END"),
)
FOCUS_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _COLUMNS)


def generate_focus_export(
    out_dir: Path,
    *,
    end_month: date,
    months: int = 3,
    rows_per_month: int = 2000,
    seed: int = 42,
    file_format: FileFormat = "parquet",
    rows_per_file: int = 250_000,
    through: date | None = None,
) -> list[Path]:
    """Write `months` billing months ending at `end_month` as `out_dir/billing_period=YYYY-MM/part-NNNNN.<ext>`.

    With `through` (a day inside `end_month`), the last month holds data up to the day before it, like a provider's
    export with a day's delay: its rows are that share of `rows_per_month`, spread over the elapsed days.
    Earlier output of this function in `out_dir` is replaced. Returns the written files, sorted.
    """
    if end_month.day != 1:
        raise ValueError(f"end_month must be the first day of a month, got {end_month}")
    if months < 1 or rows_per_month < 1 or rows_per_file < 1:
        raise ValueError("months, rows_per_month and rows_per_file must be positive")
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"file_format must be 'parquet' or 'csv', got {file_format!r}")
    out_dir = Path(out_dir)
    _remove_previous_output(out_dir)

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        # Keep the resource table as the join's build side even when a file has fewer rows than it, so the
        # streamed rows keep their order (charge-period order) instead of following the resource table. An ORDER BY
        # would do the same at about twice the time and memory.
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        resources = build_resources(seed)
        con.register("resources_src", resource_table(resources))
        con.register("slots_src", slot_table(resources))
        con.execute("CREATE TEMP TABLE pick AS SELECT s.slot, r.* FROM slots_src s JOIN resources_src r USING (res)")
        con.execute(f"CREATE MACRO rnd(i, k) AS (hash(i, {int(seed)}::BIGINT, k) >> 11)::DOUBLE / 9007199254740992.0")
        con.execute("CREATE MACRO rdiv(a, b) AS (a + b // 2) // b")  # round half up, a >= 0
        written: list[Path] = []
        for m, start in enumerate(_month_starts(end_month, months)):
            ends = _data_end(start, through)
            rows_in_month = rows_per_month * _hours(start, ends) // _hours(start, None)
            if rows_in_month < 1:
                continue
            folder = out_dir / f"billing_period={start:%Y-%m}"
            folder.mkdir(parents=True, exist_ok=True)
            for part, offset in enumerate(range(0, rows_in_month, rows_per_file)):
                path = folder / f"part-{part:05d}.{file_format}"
                count = min(rows_per_file, rows_in_month - offset)
                query = _rows_sql(start, m, offset, count, rows_per_month, file_format, ends)
                con.execute(f"COPY ({query}) TO '{_sql_str(path)}' ({_copy_options(file_format)})")
                written.append(path)
        return sorted(written)
    finally:
        con.close()


def _remove_previous_output(out_dir: Path) -> None:
    """Delete only files this generator writes, so a re-run never leaves months or formats of an older run."""
    for folder in out_dir.glob("billing_period=*"):
        if not folder.is_dir():
            continue
        for f in [*folder.glob("part-*.parquet"), *folder.glob("part-*.csv")]:
            f.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()


def _data_end(month: date, through: date | None) -> datetime:
    """Where a month's data stops: its end, or `through` when that comes first."""
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1)
    return end if through is None else min(end, datetime(through.year, through.month, through.day))


def _hours(month: date, ends: datetime | None) -> int:
    start = datetime(month.year, month.month, 1)
    return int(((ends or _data_end(month, None)) - start).total_seconds() // 3600)


def _month_starts(end_month: date, months: int) -> list[date]:
    index = end_month.year * 12 + end_month.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(months - 1, -1, -1)]


def _sql_str(value: object) -> str:
    return str(value).replace("'", "''")


def _copy_options(file_format: FileFormat) -> str:
    if file_format == "parquet":
        return "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880"
    return "FORMAT csv, HEADER true"


def _render(expr: str, file_format: FileFormat, month: date) -> str:
    """Expand the {ts:...}, {money:...}, {qty:...} and {yyyymm} placeholders of a _COLUMNS expression."""
    out, rest = "", expr
    while "{" in rest:
        head, _, tail = rest.partition("{")
        token, _, rest = tail.partition("}")
        kind, _, arg = token.partition(":")
        if kind == "ts":
            out += head + (f"({arg})::TIMESTAMPTZ" if file_format == "parquet"
                           else f"strftime({arg}, '%Y-%m-%dT%H:%M:%SZ')")
        elif kind == "money":
            out += head + f"(({arg}) / {float(MONEY_SCALE)})::DECIMAL(38, 10)"
        elif kind == "qty":
            out += head + f"(({arg}) / {float(QTY_SCALE)})::DECIMAL(38, 10)"
        elif kind == "yyyymm":
            out += head + f"{month:%Y%m}"
        else:
            raise ValueError(f"unknown placeholder {token!r}")
    return out + rest


def _rows_sql(
    month: date, m: int, offset: int, count: int, rows_per_month: int, file_format: FileFormat, data_end: datetime
) -> str:
    """Rows [offset, offset + count) of month number `m`, one SELECT level per dependency step.

    Each level only uses columns computed below it: DuckDB inlines same-level aliases, which would recompute them.
    Amounts are BIGINT units (money 1e-10, quantity 1e-6); a cost is rdiv(quantity * unit price, QTY_SCALE).
    """
    bp_start = datetime(month.year, month.month, 1)
    bp_end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1)
    hours = int((data_end - bp_start).total_seconds() // 3600)  # the rows spread over the month's data so far
    rows_in_month = rows_per_month * hours // ((bp_end - bp_start).days * 24)
    first = m * rows_per_month + offset
    growth = round(1 + MONTHLY_GROWTH * m, 4)
    select = ",\n  ".join(f'{_render(expr, file_format, month)} AS "{name}"' for name, expr in _COLUMNS)
    return f"""
WITH g AS (
  SELECT i - {m * rows_per_month} AS j, floor(rnd(i, 1) * {SLOTS})::BIGINT AS slot,
         rnd(i, 2) AS u_kind, rnd(i, 3) AS u_qty, rnd(i, 4) AS u_cd
  FROM range({first}, {first + count}) t(i)
), a AS (
  SELECT g.*, p.*,
    CASE WHEN j % {ADJUSTMENT_EVERY} = {ADJUSTMENT_EVERY // 2} THEN 'Adjustment'
         WHEN u_kind < {TAX} THEN 'Tax'
         WHEN u_kind < {TAX + CREDIT} THEN 'Credit'
         WHEN u_kind < {TAX + CREDIT + PURCHASE} AND p.cd_id IS NOT NULL THEN 'Purchase'
         ELSE 'Usage' END AS kind,
    round((p.qty_lo + (p.qty_hi - p.qty_lo) * u_qty) * {growth} * {QTY_SCALE})::BIGINT AS qty_u,
    (j * {hours}) // {rows_in_month} AS hour
  FROM g JOIN pick p USING (slot)
), b AS (
  SELECT a.*,
    CASE WHEN kind <> 'Usage' OR cd_id IS NULL OR u_cd >= {USED} THEN NULL
         WHEN u_cd < {UNUSED} THEN 'Unused' ELSE 'Used' END AS cd_status,
    kind IN ('Usage', 'Purchase') AS priced,
    CASE WHEN kind = 'Purchase' THEN qty_u * 24 ELSE qty_u END AS pq_u,
    TIMESTAMP '{bp_start:%Y-%m-%d %H:%M:%S}' AS bp_start,
    TIMESTAMP '{bp_end:%Y-%m-%d %H:%M:%S}' AS bp_end,
    TIMESTAMP '{data_end:%Y-%m-%d %H:%M:%S}' AS data_end
  FROM a
), c AS (
  SELECT b.*,
    kind = 'Purchase' OR cd_status IS NOT NULL AS has_cd,
    kind = 'Purchase' OR cd_status = 'Unused' AS on_commitment,
    kind = 'Usage' AND cd_status IS DISTINCT FROM 'Unused' AS consumed,
    CASE kind WHEN 'Usage' THEN CASE WHEN cd_status IS NOT NULL THEN 'Committed'
                                     WHEN spot THEN 'Dynamic' ELSE 'Standard' END
              WHEN 'Purchase' THEN 'Standard' END AS pricing_category,
    CASE WHEN kind IN ('Tax', 'Adjustment') THEN bp_start
         WHEN hourly AND kind = 'Usage' THEN bp_start + to_hours(hour)
         ELSE bp_start + to_hours(hour // 24 * 24) END AS cp_start,
    rdiv(pq_u * list_p, {QTY_SCALE}) AS list_priced_u,
    rdiv(pq_u * contracted_p, {QTY_SCALE}) AS contracted_priced_u,
    rdiv(pq_u * contracted_p_usd, {QTY_SCALE}) AS contracted_priced_usd_u
  FROM b
), d AS (
  SELECT c.*,
    CASE WHEN kind IN ('Tax', 'Adjustment') THEN data_end
         WHEN hourly AND kind = 'Usage' THEN cp_start + INTERVAL 1 HOUR
         ELSE cp_start + INTERVAL 1 DAY END AS cp_end,
    CASE kind WHEN 'Tax' THEN rdiv(contracted_priced_u * 65, 10)
              WHEN 'Credit' THEN -rdiv(contracted_priced_u * 15, 10)
              WHEN 'Adjustment' THEN -contracted_priced_u * 20
              ELSE contracted_priced_u END AS amount_u,
    CASE kind WHEN 'Tax' THEN rdiv(contracted_priced_usd_u * 65, 10)
              WHEN 'Credit' THEN -rdiv(contracted_priced_usd_u * 15, 10)
              WHEN 'Adjustment' THEN -contracted_priced_usd_u * 20
              ELSE contracted_priced_usd_u END AS amount_usd_u
  FROM c
), x AS (
  SELECT d.*,
    CASE WHEN kind = 'Purchase' THEN 0
         WHEN cd_status IS NOT NULL THEN rdiv(amount_u * cd_keep, {KEEP_SCALE}) ELSE amount_u END AS effective_u,
    CASE WHEN kind = 'Purchase' THEN 0
         WHEN cd_status IS NOT NULL THEN rdiv(amount_usd_u * cd_keep, {KEEP_SCALE}) ELSE amount_usd_u END
      AS effective_usd_u,
    CASE WHEN kind = 'Purchase' THEN rdiv(amount_u * cd_keep, {KEEP_SCALE})
         WHEN cd_status IS NOT NULL THEN 0 ELSE amount_u END AS billed_u,
    CASE WHEN priced THEN list_priced_u ELSE amount_u END AS list_cost_u
  FROM d
)
SELECT
  {select}
FROM x"""
