"""AWS Cost and Usage Reports to canonical FOCUS batches: formats `aws-cur2` (Data Exports CUR 2.0) and
`aws-cur-legacy` (legacy CUR, slash names or Athena snake_case).

One reader serves both formats: the rules (aws_cur_rules.py) work on snake names, and aws_cur_columns.py brings
every naming to them. The formats differ in how a file is recognized and in their documented shapes.
Which files are read (manifests, latest delivery per month) lives in aws_cur_deliveries.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from costlake import schema
from costlake.duckdb_io import connect, sql_identifier
from costlake.formats import expressions
from costlake.formats.aws.columns import (
    REQUIRED,
    CurHeader,
    looks_like_cur2,
    looks_like_legacy_cur,
    read_header,
)
from costlake.formats.aws.deliveries import select_cur_files
from costlake.formats.aws.maps import assemble
from costlake.formats.aws.rules import (
    CATEGORY_COLUMN,
    RECURRING_FEE_TYPES,
    SUBCATEGORY_COLUMN,
    UNUSED_COLUMN,
    CurRules,
)
from costlake.formats.contract import ExportFormat, Reader, file_started
from costlake.formats.conversion import (
    BATCH_ROWS,
    ConversionError,
    Header,
    canonical_query,
    explain,
    scan,
)
from costlake.formats.service_categories import service_categories
from costlake.months import MonthRange
from costlake.settings import Settings
from costlake.storage import StoredFile

CATEGORY_TABLE = "__costlake_aws_service_categories"
# Billing month of a file from its folder: Data Exports `BILLING_PERIOD=2026-01`, legacy CUR `20260101-20260201`.
_PERIOD_FOLDER = re.compile(r"/BILLING_PERIOD=(\d{4})-(\d{2})/|/(\d{4})(\d{2})01-\d{8}/")


@dataclass(frozen=True)
class CurQuery:
    """The SELECT for one file, and the keys of its x_Extensions entries (finished in Arrow: aws_cur_maps)."""

    sql: str
    extension_keys: tuple[str, ...]


def build_query(file: StoredFile, header: Header, months: MonthRange, format_name: str) -> CurQuery:
    """The SELECT turning one CUR file into canonical rows, built only from its own header, quoted."""
    cur = read_header(header)
    missing = cur.missing()
    if missing:
        raise ConversionError(
            f"{file.uri}: not an AWS Cost and Usage Report ({format_name}): missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED)} (or the legacy slash names such as lineItem/UnblendedCost). "
            f"Found: {', '.join(name for name, _ in header)[:300]}"
        )
    rules = CurRules(cur)
    columns = _focus_columns(cur, rules)
    columns["Tags"] = rules.tags()
    columns[schema.EXTENSIONS], extension_keys = rules.extensions()
    return CurQuery(canonical_query(columns, _source(file, cur, rules), months), extension_keys)


def _focus_columns(cur: CurHeader, rules: CurRules) -> dict[str, str]:
    def timestamp(name: str, focus_name: str) -> str | None:
        column = cur.get(name)
        return expressions.timestamp(column.sql, column.duck_type, focus_name) if column else None

    charge_start = timestamp("line_item_usage_start_date", "ChargePeriodStart")
    billing_start = timestamp("bill_billing_period_start_date", "BillingPeriodStart")
    currency = rules.text("line_item_currency_code") or "CAST(NULL AS VARCHAR)"
    effective = rules.effective_cost()
    product_code = rules.text("line_item_product_code")
    columns: dict[str, str | None] = {
        "BilledCost": rules.billed_cost,
        "EffectiveCost": effective,
        "ListCost": rules.list_cost(),
        "ContractedCost": rules.contracted_cost(),
        "BillingCurrency": currency,
        "PricingCurrency": f"COALESCE({rules.text('pricing_currency') or 'NULL'}, {currency})",
        "ChargeCategory": rules.charge_category,
        "ChargeClass": rules.charge_class(charge_start or "NULL", billing_start or "NULL"),
        "ChargeFrequency": rules.charge_frequency(),
        "PricingCategory": rules.pricing_category(),
        "ChargeDescription": rules.text("line_item_line_item_description"),
        "ChargePeriodStart": charge_start,
        "ChargePeriodEnd": timestamp("line_item_usage_end_date", "ChargePeriodEnd"),
        "BillingPeriodStart": billing_start,
        "BillingPeriodEnd": timestamp("bill_billing_period_end_date", "BillingPeriodEnd"),
        "BillingAccountId": rules.text("bill_payer_account_id"),
        "BillingAccountName": rules.text("bill_payer_account_name"),
        "SubAccountId": rules.text("line_item_usage_account_id"),
        "SubAccountName": rules.text("line_item_usage_account_name"),
        "InvoiceId": rules.text("bill_invoice_id"),
        "InvoiceIssuerName": f"COALESCE({rules.text('bill_invoicing_entity') or 'NULL'}, 'Amazon Web Services, Inc.')",
        "ProviderName": "'AWS'",
        "PublisherName": f"COALESCE({rules.text('line_item_legal_entity') or 'NULL'}, 'Amazon Web Services, Inc.')",
        "ServiceName": f"COALESCE({rules.first_text(rules.product('product_name'), rules.product('servicename'), product_code) or 'NULL'}, 'Unknown')",
        "ServiceCategory": f"COALESCE({sql_identifier(CATEGORY_COLUMN)}, 'Other')" if product_code else "'Other'",
        "ServiceSubcategory": f"COALESCE({sql_identifier(SUBCATEGORY_COLUMN)}, 'Other (Other)')" if product_code else "'Other (Other)'",
        "RegionId": rules.first_text(rules.product("region_code"), rules.product("region")),
        "RegionName": rules.product("location"),
        "AvailabilityZone": rules.text("line_item_availability_zone"),
        "ResourceId": rules.text("line_item_resource_id"),
        "SkuId": _not_on_tax(rules, rules.product("sku")),
        "SkuPriceId": _not_on_tax(rules, rules.first_text(rules.text("pricing_rate_code"), rules.text("pricing_rate_id"))),
        **rules.commitment_columns(),
        **rules.quantities(),
        **rules.usd_columns(currency, effective),
    }
    unused = sql_identifier(UNUSED_COLUMN)
    for name, value in rules.unused_row(currency).items():
        columns[name] = f"CASE WHEN {unused} THEN {value} ELSE {columns.get(name) or 'NULL'} END"
    # CUR prices in its billing currency unless it says otherwise: the pricing-currency amounts are the same numbers.
    same_currency = f"{columns['PricingCurrency']} = {currency}"
    for name, source in (("PricingCurrencyEffectiveCost", "EffectiveCost"), ("PricingCurrencyListUnitPrice", "ListUnitPrice"),
                         ("PricingCurrencyContractedUnitPrice", "ContractedUnitPrice")):
        if columns.get(source):
            columns[name] = f"CASE WHEN {same_currency} THEN {columns[source]} END"
    return {name: expression for name, expression in columns.items() if expression}


def _not_on_tax(rules: CurRules, expression: str | None) -> str | None:
    """FOCUS: no SKU on tax rows (CUR repeats the taxed product's SKU there)."""
    return f"CASE WHEN {rules.line_type} <> 'Tax' THEN {expression} END" if expression else None


def _source(file: StoredFile, cur: CurHeader, rules: CurRules) -> str:
    """The file's rows with the rules' shared values computed once (`rules.derived`), each recurring fee line
    with unused commitment twice (the second flagged UNUSED_COLUMN), and ServiceCategory/Subcategory joined on
    the (lower-cased) product code."""
    has_unused = f"{rules.is_type(RECURRING_FEE_TYPES)} AND {rules.unused_commitment()} <> 0"  # registers what it uses
    derived = ", ".join(f"{expression} AS {sql_identifier(alias)}" for alias, expression in rules.derived.items())
    # UNION ALL reads the file twice, the second time only the few fee lines; an unnest copied every column of
    # every row (and a lateral one was planned as a correlated join hashing them all).
    rows = f"(SELECT *, {derived} FROM {scan(file)})"
    flag = sql_identifier(UNUSED_COLUMN)
    split = f"(SELECT *, false AS {flag} FROM {rows} UNION ALL SELECT *, true AS {flag} FROM {rows} WHERE {has_unused})"
    code = cur.get("line_item_product_code")
    if code is None:
        return split
    return (
        f"(SELECT source.*, categories.category AS {sql_identifier(CATEGORY_COLUMN)}, "
        f"categories.subcategory AS {sql_identifier(SUBCATEGORY_COLUMN)} FROM {split} AS source "
        f"LEFT JOIN {CATEGORY_TABLE} AS categories ON categories.service_key = lower(source.{code.sql}))"
    )


def _category_table() -> pa.Table:
    lookup = service_categories("aws")
    return pa.table(
        {
            "service_key": list(lookup),
            "category": [category for category, _ in lookup.values()],
            "subcategory": [subcategory for _, subcategory in lookup.values()],
        }
    )


def in_months(file: StoredFile, months: MonthRange) -> bool:
    """False only for a file whose delivery folder names a billing month outside `months` (a cheap skip)."""
    found = _PERIOD_FOLDER.search(file.uri.replace("\\", "/"))
    if found is None:
        return True
    month = "-".join(part for part in found.groups() if part)
    return (months.first is None or month >= months.first) and (months.last is None or month <= months.last)


def _stream(connection: duckdb.DuckDBPyConnection, file: StoredFile, months: MonthRange, format_name: str) -> Iterator[pa.RecordBatch]:
    header: Header = []
    try:
        header = [(row[0], row[1]) for row in connection.sql(f"DESCRIBE SELECT * FROM {scan(file)}").fetchall()]
        query = build_query(file, header, months, format_name)
        # A quarter of the usual batch: CUR rows are wide (Tags, 12 x_Extensions entries, 14 money columns: about
        # 1.4 KB in Arrow) and several batches are alive at once (DuckDB's, the one converted, the sync's prefetch
        # queue, the one being written). With half, a 5M-row sync peaked at 1.45-1.56 GiB (limit 1.5); with a
        # quarter at about 1.1 GiB, 0-15% slower (smaller row groups, each with its own dictionaries).
        for batch in connection.sql(query.sql).to_arrow_reader(BATCH_ROWS // 4):
            converted = assemble(batch, query.extension_keys).cast(schema.CONVERTED_SCHEMA)
            del batch  # its raw x_Extensions list need not live on while `converted` waits in the sync's queue
            yield converted
    except duckdb.Error as error:
        raise explain(connection, file, header, error) from None


def read_cur(files: list[StoredFile], settings: Settings, months: MonthRange, format_name: str) -> Iterator[pa.RecordBatch]:
    """Every file in turn (files of months outside the range skipped by their folder name)."""
    wanted = [file for file in files if in_months(file, months)]
    connection = connect(settings, [file.uri for file in wanted])
    try:
        connection.register(CATEGORY_TABLE, _category_table())
        for file in wanted:
            file_started(file.uri)
            yield from _stream(connection, file, months, format_name)
    finally:
        connection.close()


def _reader(format_name: str) -> Reader:
    def read(files: list[StoredFile], settings: Settings, months: MonthRange, options: Mapping[str, str]) -> Iterator[pa.RecordBatch]:
        return read_cur(files, settings, months, format_name)

    return read


AWS_CUR2 = ExportFormat(
    name="aws-cur2",
    label="AWS CUR 2.0 (Data Exports)",
    docs="docs/mappings/aws.md",
    read=_reader("aws-cur2"),
    detect=looks_like_cur2,
    select_files=select_cur_files,
    signature="line_item_line_item_type, line_item_unblended_cost, line_item_usage_start_date, "
    "line_item_currency_code and a map column (product, resource_tags, cost_category) (AWS Data Exports CUR 2.0)",
)
AWS_CUR_LEGACY = ExportFormat(
    name="aws-cur-legacy",
    label="AWS Cost and Usage Report (legacy)",
    docs="docs/mappings/aws.md",
    read=_reader("aws-cur-legacy"),
    detect=looks_like_legacy_cur,
    select_files=select_cur_files,
    signature="lineItem/LineItemType, lineItem/UnblendedCost, lineItem/UsageStartDate, lineItem/CurrencyCode "
    "(legacy CUR; or their Athena snake_case names without CUR 2.0's map columns)",
)
