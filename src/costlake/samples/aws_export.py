"""Deterministic AWS Data Exports CUR 2.0 sample, laid out as AWS delivers it.

`<out>/<export>/data/BILLING_PERIOD=YYYY-MM/[<run>/]<export>-0000N.snappy.parquet` (or `.csv.gz`) and
`<out>/<export>/metadata/BILLING_PERIOD=YYYY-MM/[<run>/]<export>-Manifest.json`; `mode="create-new"` puts every
delivery in its own `<timestamp>-<execution id>` run folder, `deliveries=2` writes an older, smaller run first
(what a sync must ignore).

Each month holds `rows_per_month` on-demand and Spot Usage rows (DuckDB `range()`, every draw a `hash()` of the row
and the seed; money is integer arithmetic in units of 1e-10) with a 3% private-rate discount netted into the
`*_net_*` columns and the `discount` map, plus a fixed block of the hard cases with round, known values
(HARD_CASES): Savings Plan covered usage + negation + recurring fee + upfront fee, RI discounted usage + RIFee +
upfront Fee, a credit, a refund of the previous month, tax and an EDP discount line.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import duckdb

FileFormat = Literal["parquet", "csv"]
Mode = Literal["overwrite", "create-new"]

SCALE = 10**10  # money units in SQL
NET_PERCENT = 97  # the private-rate discount on on-demand usage
PAYER = "111122223333"
USAGE_ACCOUNT = "444455556666"
SAVINGS_PLAN_ARN = "arn:aws:savingsplans::111122223333:savingsplan/3f5e1b2c-sp-compute"
RESERVATION_ARN = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/4a6f8d1e-ri-m5"
BUCKET_PREFIX = "s3://costlake-demo-billing/exports"

# (product code, product name, usage type, operation, pricing unit, rate in units, region)
SERVICES = (
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "BoxUsage:m5.large", "RunInstances", "Hrs", 960_000_000, "us-east-1"),
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "SpotUsage:c5.xlarge", "RunInstances:SV001", "Hrs", 680_000_000, "us-east-1"),
    ("AmazonS3", "Amazon Simple Storage Service", "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo", 230_000_000, "eu-west-1"),
    ("AmazonRDS", "Amazon Relational Database Service", "InstanceUsage:db.r6g.large", "CreateDBInstance:0016", "Hrs", 2_250_000_000, "eu-west-1"),
    ("AWSLambda", "AWS Lambda", "Lambda-GB-Second", "Invoke", "Lambda-GB-Second", 166_667, "us-east-1"),
    ("AmazonCloudWatch", "AmazonCloudWatch", "CW:MetricMonitorUsage", "MetricStorage", "Metrics", 3_000_000_000, "us-east-1"),
    ("AWSDataTransfer", "AWS Data Transfer", "DataTransfer-Out-Bytes", "", "GB", 900_000_000, "us-east-1"),
)
TEAMS = ("payments", "search", "platform", "data")


@dataclass(frozen=True)
class HardCase:
    """One line of the fixed block, in units of 1e-10 USD; `effective` is the EffectiveCost costlake must give
    the line (over both rows for a recurring fee: its Purchase row and its unused-commitment row)."""

    line_type: str
    description: str
    unblended: int
    effective: int
    extra: dict[str, int | str]


def _usd(value: str) -> int:
    whole, _, fraction = value.partition(".")
    return int(whole) * SCALE + (1 if not whole.startswith("-") else -1) * int((fraction + "0" * 10)[:10])


HARD_CASES = (
    HardCase("SavingsPlanCoveredUsage", "Compute Savings Plan covered usage", _usd("1.00"), _usd("0.60"),
             {"savings_plan_savings_plan_effective_cost": _usd("0.60"), "savings_plan_savings_plan_a_r_n": SAVINGS_PLAN_ARN}),
    HardCase("SavingsPlanNegation", "Savings Plan negation of covered on-demand cost", _usd("-1.00"), 0,
             {"savings_plan_savings_plan_a_r_n": SAVINGS_PLAN_ARN}),
    HardCase("SavingsPlanRecurringFee", "Savings Plan recurring commitment", _usd("0.80"), _usd("0.20"),
             {"savings_plan_total_commitment_to_date": _usd("0.80"), "savings_plan_used_commitment": _usd("0.60"),
              "savings_plan_savings_plan_a_r_n": SAVINGS_PLAN_ARN}),
    HardCase("SavingsPlanUpfrontFee", "Savings Plan upfront fee", _usd("2.40"), 0,
             {"savings_plan_savings_plan_a_r_n": SAVINGS_PLAN_ARN}),
    HardCase("DiscountedUsage", "Reserved Instance covered usage", 0, _usd("0.45"),
             {"reservation_effective_cost": _usd("0.45"), "reservation_reservation_a_r_n": RESERVATION_ARN}),
    HardCase("RIFee", "Reserved Instance monthly recurring fee", _usd("0.40"), _usd("0.15"),
             {"reservation_unused_amortized_upfront_fee_for_billing_period": _usd("0.05"),
              "reservation_unused_recurring_fee": _usd("0.10"), "reservation_reservation_a_r_n": RESERVATION_ARN}),
    HardCase("Fee", "Reserved Instance upfront fee", _usd("1.20"), 0, {"reservation_reservation_a_r_n": RESERVATION_ARN}),
    HardCase("Credit", "AWS Promotional Credit", _usd("-0.50"), _usd("-0.50"), {}),
    HardCase("Refund", "Refund of an overcharge in the previous month", _usd("-0.25"), _usd("-0.25"), {}),
    HardCase("Tax", "Tax for product code AmazonEC2", _usd("0.33"), _usd("0.33"), {"line_item_tax_type": "VAT"}),
    HardCase("EdpDiscount", "Enterprise Discount Program discount", _usd("-0.07"), _usd("-0.07"), {}),
)


def generate_cur2_export(
    out_dir: Path,
    end_month: date,
    months: int = 2,
    rows_per_month: int = 2000,
    seed: int = 7,
    file_format: FileFormat = "parquet",
    mode: Mode = "overwrite",
    deliveries: int = 1,
    chunk_rows: int = 1_000_000,
    export_name: str = "costlake-cur2",
    through: date | None = None,
) -> Path:
    """Write the export under `out_dir/export_name` (replacing a previous one) and return that root folder.

    With `through` (a day inside the last month), that month's usage stops the day before it, its rows that share
    of `rows_per_month`: a provider's month-to-date export with a day's delay."""
    root = Path(out_dir) / export_name
    if root.exists():
        shutil.rmtree(root)
    connection = duckdb.connect(config={"preserve_insertion_order": True})
    connection.execute("SET TimeZone = 'UTC'")
    try:
        for index in range(months):
            month = _add_months(end_month.replace(day=1), index - months + 1)
            month_days = (_add_months(month, 1) - month).days
            days = month_days if through is None else max(0, min(month_days, (through - month).days))
            if days == 0:
                continue
            for delivery in range(deliveries):
                # Older deliveries hold fewer rows (the month was not over yet).
                rows = rows_per_month * days // month_days * (delivery + 1) // deliveries
                _write_delivery(connection, root, export_name, month, rows, seed, file_format, mode, delivery, chunk_rows, days)
    finally:
        connection.close()
    return root


def _write_delivery(
    connection: duckdb.DuckDBPyConnection, root: Path, export_name: str, month: date, rows: int, seed: int,
    file_format: FileFormat, mode: Mode, delivery: int, chunk_rows: int, days: int,
) -> None:
    period = f"BILLING_PERIOD={month:%Y-%m}"
    run = f"{month:%Y%m}{delivery + 2:02d}T060000Z-{seed:04d}{delivery:04d}-e1c2" if mode == "create-new" else ""
    data_dir = root / "data" / period / run
    meta_dir = root / "metadata" / period / run
    data_dir.mkdir(parents=True, exist_ok=True)
    meta_dir.mkdir(parents=True, exist_ok=True)
    month_seed = seed * 10_000 + month.year * 12 + month.month  # each month draws its own rows
    connection.execute(f"CREATE OR REPLACE TEMP TABLE delivery AS {_rows_sql(month, rows, month_seed, file_format, days)}")
    total = connection.execute("SELECT count(*) FROM delivery").fetchone()[0]  # type: ignore[index]
    suffix = ".snappy.parquet" if file_format == "parquet" else ".csv.gz"
    options = "(FORMAT parquet, COMPRESSION snappy)" if file_format == "parquet" else "(FORMAT csv, HEADER, COMPRESSION gzip)"
    files = []
    for chunk, start in enumerate(range(0, total, chunk_rows), start=1):
        path = data_dir / f"{export_name}-{chunk:05d}{suffix}"
        connection.execute(
            f"COPY (SELECT * EXCLUDE (row_number) FROM delivery WHERE row_number >= {start} AND row_number < {start + chunk_rows} "
            f"ORDER BY row_number) TO '{path}' {options}"
        )
        files.append(path)
    columns = [name for name, *_ in connection.execute("DESCRIBE SELECT * EXCLUDE (row_number) FROM delivery").fetchall()]
    manifest = {
        "exportName": export_name,
        "executionId": run or f"{month:%Y%m}02T060000Z-overwrite",
        "billingPeriod": {"start": f"{month:%Y-%m}-01T00:00:00.000Z", "end": f"{_add_months(month, 1):%Y-%m}-01T00:00:00.000Z"},
        "columns": [{"name": name} for name in columns],
        "dataFiles": [f"{BUCKET_PREFIX}/{path.relative_to(root.parent).as_posix()}" for path in files],
        "totalRowCount": total,
    }
    (meta_dir / f"{export_name}-Manifest.json").write_text(json.dumps(manifest, indent=2))


def _add_months(month: date, delta: int) -> date:
    index = month.year * 12 + month.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def _money(units: str, file_format: FileFormat) -> str:
    # AWS writes CUR 2.0 money as double; the decimal text of an exact 1e-10 multiple survives the round trip.
    return f"CAST(CAST(({units}) AS DECIMAL(38,0)) / {SCALE} AS DOUBLE)" if file_format == "parquet" else f"CAST(CAST(({units}) AS DECIMAL(38,0)) / {SCALE} AS DECIMAL(38,10))::VARCHAR"


def _map(expression: str, file_format: FileFormat) -> str:
    return expression if file_format == "parquet" else f"CAST(to_json({expression}) AS VARCHAR)"


def _rows_sql(month: date, rows: int, seed: int, file_format: FileFormat, days: int) -> str:
    """`days`: how many days of the month the usage spreads over (the whole month, or the days so far)."""
    start, end = f"TIMESTAMP '{month:%Y-%m-%d}'", f"TIMESTAMP '{_add_months(month, 1):%Y-%m-%d}'"
    services = ", ".join(
        f"({i}, '{code}', '{name}', '{usage}', '{operation}', '{unit}', {rate}, '{region}')"
        for i, (code, name, usage, operation, unit, rate, region) in enumerate(SERVICES)
    )
    teams = "[" + ", ".join(f"'{team}'" for team in TEAMS) + "]"
    usage = f"""
        SELECT i AS row_number, s.*, 'Usage' AS line_type,
               {start} + INTERVAL 1 HOUR * (hash(i, {seed}, 1) % ({days} * 24))::BIGINT AS usage_start,
               (hash(i, {seed}, 2) % 20000 + 1)::BIGINT AS qty_milli,
               {teams}[1 + (hash(i, {seed}, 3) % {len(TEAMS)})::BIGINT] AS team,
               'i-' || lpad(to_hex((hash(i, {seed}, 4) % 4096)::BIGINT), 5, '0') AS resource
        FROM range({rows}) t(i) JOIN (VALUES {services}) s(service, code, product_name, usage_type, operation, unit, rate, region)
          ON s.service = (hash(i, {seed}, 0) % {len(SERVICES)})::BIGINT
    """
    usage_cols = f"""
        row_number, line_type, code, product_name, usage_type, operation, unit, region, usage_start,
        usage_start + INTERVAL 1 HOUR AS usage_end, qty_milli * 1000000 AS qty_units,
        qty_milli * rate // 1000 AS unblended, qty_milli * rate // 1000 * {NET_PERCENT} // 100 AS net,
        rate AS rate_units, qty_milli * rate // 1000 AS on_demand, team, resource,
        CASE WHEN usage_type LIKE 'SpotUsage%' THEN 'Spot' ELSE 'OnDemand' END AS term,
        NULL::BIGINT AS sp_effective, NULL::BIGINT AS sp_commitment, NULL::BIGINT AS sp_used, NULL::VARCHAR AS sp_arn,
        NULL::BIGINT AS ri_effective, NULL::BIGINT AS ri_unused_upfront, NULL::BIGINT AS ri_unused_recurring,
        NULL::VARCHAR AS ri_arn, NULL::VARCHAR AS tax_type, product_name AS description
    """
    hard = " UNION ALL ".join(_hard_case_sql(index, case, rows, month) for index, case in enumerate(HARD_CASES))
    return f"""
        WITH usage AS ({usage}), lines AS (SELECT {usage_cols} FROM usage UNION ALL {hard})
        SELECT
          'line-' || lpad(row_number::VARCHAR, 9, '0') || '-{month:%Y%m}' AS identity_line_item_id,
          strftime(usage_start, '%Y-%m-%dT%H:%M:%SZ') || '/' || strftime(usage_end, '%Y-%m-%dT%H:%M:%SZ') AS identity_time_interval,
          CASE WHEN line_type IN ('Fee', 'SavingsPlanUpfrontFee') THEN 'Purchase' WHEN line_type = 'Refund' THEN 'Refund'
               ELSE 'Anniversary' END AS bill_bill_type,
          'AWS' AS bill_billing_entity,
          {start} AS bill_billing_period_start_date, {end} AS bill_billing_period_end_date,
          '{month:%Y%m}0001' AS bill_invoice_id, 'Amazon Web Services, Inc.' AS bill_invoicing_entity,
          '{PAYER}' AS bill_payer_account_id, 'Costlake Demo Payer' AS bill_payer_account_name,
          {_map("MAP {'Team': team}", file_format)} AS cost_category,
          {_map("CASE WHEN line_type = 'Usage' THEN MAP {'private_rate_discount': CAST(CAST(net - unblended AS DECIMAL(38,0)) / " + str(SCALE) + " AS DOUBLE)} ELSE MAP {}::MAP(VARCHAR, DOUBLE) END", file_format)} AS discount,
          {_money("CASE WHEN line_type = 'Usage' THEN unblended - net ELSE 0 END", file_format)} AS discount_total_discount,
          line_type AS line_item_line_item_type, description AS line_item_line_item_description,
          usage_start AS line_item_usage_start_date, usage_end AS line_item_usage_end_date,
          code AS line_item_product_code, usage_type AS line_item_usage_type, operation AS line_item_operation,
          CASE WHEN line_type IN ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage') THEN region || 'a' END AS line_item_availability_zone,
          resource AS line_item_resource_id,
          {_money("qty_units", file_format)} AS line_item_usage_amount,
          'USD' AS line_item_currency_code,
          {_money("rate_units", file_format)}::VARCHAR AS line_item_unblended_rate,
          {_money("unblended", file_format)} AS line_item_unblended_cost,
          {_money("net", file_format)} AS line_item_net_unblended_cost,
          {_money("unblended", file_format)} AS line_item_blended_cost,
          'Amazon Web Services, Inc.' AS line_item_legal_entity, tax_type AS line_item_tax_type,
          '{USAGE_ACCOUNT}' AS line_item_usage_account_id, 'costlake-demo-workloads' AS line_item_usage_account_name,
          {_money("on_demand", file_format)} AS pricing_public_on_demand_cost,
          {_money("rate_units", file_format)}::VARCHAR AS pricing_public_on_demand_rate,
          term AS pricing_term, unit AS pricing_unit, 'USD' AS pricing_currency,
          {_map("MAP {'product_name': product_name, 'region': region, 'servicename': product_name}", file_format)} AS product,
          code AS product_servicecode, region AS product_region_code,
          CASE region WHEN 'us-east-1' THEN 'US East (N. Virginia)' ELSE 'EU (Ireland)' END AS product_location,
          CASE WHEN code = 'AmazonEC2' THEN 'Compute Instance' END AS product_product_family,
          'SKU' || upper(to_hex((hash(code, usage_type) % 1000000)::BIGINT)) AS product_sku,
          {_map("CASE WHEN line_type = 'Usage' THEN MAP {'user_team': team, 'user_env': CASE WHEN row_number % 3 = 0 THEN 'prod' ELSE 'dev' END} ELSE MAP {}::MAP(VARCHAR, VARCHAR) END", file_format)} AS resource_tags,
          ri_arn AS reservation_reservation_a_r_n,
          {_money("ri_effective", file_format)} AS reservation_effective_cost,
          {_money("ri_unused_upfront", file_format)} AS reservation_unused_amortized_upfront_fee_for_billing_period,
          {_money("ri_unused_recurring", file_format)} AS reservation_unused_recurring_fee,
          sp_arn AS savings_plan_savings_plan_a_r_n,
          {_money("sp_effective", file_format)} AS savings_plan_savings_plan_effective_cost,
          {_money("sp_effective", file_format)} AS savings_plan_net_savings_plan_effective_cost,
          {_money("sp_commitment", file_format)} AS savings_plan_total_commitment_to_date,
          {_money("sp_used", file_format)} AS savings_plan_used_commitment,
          row_number
        FROM lines
    """


def _hard_case_sql(index: int, case: HardCase, rows: int, month: date) -> str:
    extra = case.extra
    usage_start = f"TIMESTAMP '{_add_months(month, -1):%Y-%m}-15'" if case.line_type == "Refund" else f"TIMESTAMP '{month:%Y-%m}-01'"
    covered = case.line_type in ("SavingsPlanCoveredUsage", "DiscountedUsage")

    def num(key: str) -> str:
        return str(extra[key]) if key in extra else "NULL::BIGINT"

    def txt(key: str) -> str:
        return f"'{extra[key]}'" if key in extra else "NULL::VARCHAR"

    return f"""
        SELECT {rows + index}, '{case.line_type}', 'AmazonEC2', 'Amazon Elastic Compute Cloud',
          {"'BoxUsage:m5.large'" if covered else "NULL::VARCHAR"}, 'RunInstances', {"'Hrs'" if covered else "NULL::VARCHAR"},
          'us-east-1', {usage_start}, {usage_start} + INTERVAL 1 HOUR, {10 * 10**10 if covered else 'NULL::BIGINT'},
          {case.unblended}, {case.unblended}, {96 * 10**7 if covered else 'NULL::BIGINT'},
          {10 * 96 * 10**7 if covered else 'NULL::BIGINT'}, 'platform', {"'i-0c0ffee0001'" if covered else "NULL::VARCHAR"},
          {"'OnDemand'" if case.line_type == 'SavingsPlanCoveredUsage' else "'Reserved'" if case.line_type == 'DiscountedUsage' else 'NULL::VARCHAR'},
          {num("savings_plan_savings_plan_effective_cost")}, {num("savings_plan_total_commitment_to_date")},
          {num("savings_plan_used_commitment")}, {txt("savings_plan_savings_plan_a_r_n")},
          {num("reservation_effective_cost")}, {num("reservation_unused_amortized_upfront_fee_for_billing_period")},
          {num("reservation_unused_recurring_fee")}, {txt("reservation_reservation_a_r_n")}, {txt("line_item_tax_type")},
          '{case.description}'
    """
