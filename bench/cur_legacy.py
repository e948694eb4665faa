"""The focus-converter comparison of bench/cur_bench.py: a legacy CUR CSV cut from the generated CUR 2.0 export,
and the FinOps Foundation's `focus-converter` 1.0.0 run from its own cached venv.

focus-converter reads legacy CUR (`--provider aws-cur`: slash names such as `lineItem/UnblendedCost`, one column per
tag), so both tools are timed on the same legacy CSV. It gets its own venv because it pins polars 0.20 and
pyarrow<15, which costlake cannot share, and it crashes at start-up without two more pins
(`../shared/reference/focus-spec.md` §6).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# What the venv gets, and the two pins without which 1.0.0 does not start (pandera 0.17, typer 0.9.4).
FOCUS_CONVERTER_PACKAGES = ("focus-converter==1.0.0", "multimethod<2", "click<8.2")
DEFAULT_VENV = Path.home() / ".cache" / "costlake-bench" / "focus-converter-venv"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%gZ"  # as legacy CUR CSV writes it: 2023-11-01T00:00:00.000Z

# Legacy CUR name <- the CUR 2.0 column holding the same value (costlake.samples.aws_export writes these). For
# plain columns, costlake's snake_name(legacy name) is the CUR 2.0 name (write_legacy_csv checks it). Map entries
# become their own columns: product attributes, cost categories and tags (CUR 2.0 writes a user tag key `user_team`
# where legacy CUR writes `user:team`). Other expressions fill columns CUR 2.0 does not have.
LEGACY_COLUMNS = {
    "identity/LineItemId": "identity_line_item_id",
    "identity/TimeInterval": "identity_time_interval",
    "bill/InvoiceId": "bill_invoice_id",
    "bill/InvoicingEntity": "bill_invoicing_entity",
    "bill/BillingEntity": "bill_billing_entity",
    "bill/BillType": "bill_bill_type",
    "bill/PayerAccountId": "bill_payer_account_id",
    "bill/PayerAccountName": "bill_payer_account_name",
    "bill/BillingPeriodStartDate": "bill_billing_period_start_date",
    "bill/BillingPeriodEndDate": "bill_billing_period_end_date",
    "lineItem/UsageAccountId": "line_item_usage_account_id",
    "lineItem/UsageAccountName": "line_item_usage_account_name",
    "lineItem/LineItemType": "line_item_line_item_type",
    "lineItem/UsageStartDate": "line_item_usage_start_date",
    "lineItem/UsageEndDate": "line_item_usage_end_date",
    "lineItem/ProductCode": "line_item_product_code",
    "lineItem/UsageType": "line_item_usage_type",
    "lineItem/Operation": "line_item_operation",
    "lineItem/AvailabilityZone": "line_item_availability_zone",
    "lineItem/ResourceId": "line_item_resource_id",
    "lineItem/UsageAmount": "line_item_usage_amount",
    "lineItem/CurrencyCode": "line_item_currency_code",
    "lineItem/UnblendedRate": "line_item_unblended_rate",
    "lineItem/UnblendedCost": "line_item_unblended_cost",
    "lineItem/NetUnblendedCost": "line_item_net_unblended_cost",
    "lineItem/BlendedCost": "line_item_blended_cost",
    "lineItem/LineItemDescription": "line_item_line_item_description",
    "lineItem/TaxType": "line_item_tax_type",
    "lineItem/LegalEntity": "line_item_legal_entity",
    "product/ProductName": "product['product_name']",
    "product/servicename": "product['servicename']",
    "product/region": "product['region']",
    "product/servicecode": "product_servicecode",
    "product/regionCode": "product_region_code",
    "product/location": "product_location",
    "product/productFamily": "product_product_family",
    "product/sku": "product_sku",
    "pricing/currency": "pricing_currency",
    "pricing/publicOnDemandCost": "pricing_public_on_demand_cost",
    "pricing/publicOnDemandRate": "pricing_public_on_demand_rate",
    "pricing/term": "pricing_term",
    "pricing/unit": "pricing_unit",
    # Not in the generated CUR 2.0 export, but focus-converter refuses a file without them: AWS's OnDemand
    # offer-term and price-dimension codes after the SKU, a numeric id, and no reserved units (usage rows).
    "pricing/RateCode": "product_sku || '.JRTCKXETXF.6YS6EN2CT7'",
    "pricing/RateId": "CAST(hash(product_sku) % 10000000000 AS VARCHAR)",
    "reservation/TotalReservedUnits": "CAST(NULL AS VARCHAR)",
    "discount/TotalDiscount": "discount_total_discount",
    "reservation/ReservationARN": "reservation_reservation_a_r_n",
    "reservation/EffectiveCost": "reservation_effective_cost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation/UnusedRecurringFee": "reservation_unused_recurring_fee",
    "savingsPlan/SavingsPlanARN": "savings_plan_savings_plan_a_r_n",
    "savingsPlan/SavingsPlanEffectiveCost": "savings_plan_savings_plan_effective_cost",
    "savingsPlan/NetSavingsPlanEffectiveCost": "savings_plan_net_savings_plan_effective_cost",
    "savingsPlan/TotalCommitmentToDate": "savings_plan_total_commitment_to_date",
    "savingsPlan/UsedCommitment": "savings_plan_used_commitment",
    "costCategory/Team": "cost_category['Team']",
    "resourceTags/user:team": "resource_tags['user_team']",
    "resourceTags/user:env": "resource_tags['user_env']",
}


def write_legacy_csv(files: list[Path], target: Path, rows: int) -> int:
    """The first `rows` rows of `files` (CUR 2.0 Parquet, in order) as a legacy CUR CSV; returns the rows written."""
    import duckdb

    from costlake.formats.aws.columns import snake_name

    wrong = [name for name, source in LEGACY_COLUMNS.items() if source.isidentifier() and snake_name(name) != source]
    if wrong:
        raise ValueError(f"legacy names that costlake would not read as their CUR 2.0 column: {', '.join(wrong)}")
    connection = duckdb.connect(config={"preserve_insertion_order": True})  # "the first rows" means file order
    connection.execute("SET TimeZone = 'UTC'")
    timestamps = {"bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "lineItem/UsageStartDate", "lineItem/UsageEndDate"}
    columns = ", ".join(
        f"{f'strftime({source}, {TIME_FORMAT!r})' if name in timestamps else source} AS \"{name}\""
        for name, source in LEGACY_COLUMNS.items()
    )
    listed = ", ".join("'" + str(file).replace("'", "''") + "'" for file in files)
    connection.execute(f"COPY (SELECT {columns} FROM read_parquet([{listed}]) LIMIT {int(rows)}) TO '{target}' (FORMAT csv, HEADER)")
    written = connection.execute(f"SELECT count(*) FROM read_csv('{target}', header = true, all_varchar = true)").fetchall()[0][0]
    connection.close()
    return int(written)


def ensure_venv(venv: Path) -> Path:
    """The focus-converter executable, installing it into `venv` on first use (pip, PyPI)."""
    executable = venv / "bin" / "focus-converter"
    if not executable.exists():
        print(f"installing {', '.join(FOCUS_CONVERTER_PACKAGES)} into {venv} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *FOCUS_CONVERTER_PACKAGES], check=True)
    # 1.0.0 without the pins fails right at start-up: check it starts before timing it.
    subprocess.run([str(executable), "list-providers"], check=True, capture_output=True)
    return executable


def focus_converter_command(executable: Path, csv_file: Path, out_dir: Path, source_columns: bool) -> list[str]:
    """Convert the legacy CUR CSV to FOCUS Parquet (costlake writes Parquet too). Its default copies every source
    column along; without them (`source_columns=False`) it does less than costlake, which keeps 12 of them in
    x_Extensions: the fastest mode, against which the target is checked. `--export-path` needs its trailing `/`."""
    return [str(executable), "convert", "--provider", "aws-cur", "--data-path", str(csv_file), "--data-format", "csv",
            "--export-path", f"{out_dir}/", "--export-format", "parquet",
            "--export-include-source-columns" if source_columns else "--no-export-include-source-columns"]


def parquet_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(int(pq.ParquetFile(file).metadata.num_rows) for file in folder.rglob("*.parquet"))
