"""FOCUS columns over an Azure file's rows (`azure_cost_rows.source_sql`): Microsoft's actual/amortized rules.

docs/mappings/azure.md is this module as a table, with the reasons for every decision.
"""

from __future__ import annotations

from costlake.duckdb_io import sql_identifier, sql_string
from costlake.formats import expressions
from costlake.formats.azure.amounts import exact_product
from costlake.formats.azure.columns import AzureHeader
from costlake.formats.azure.rows import raw

DATASET_KEY = "costlake.dataset"  # x_Extensions entry saying which dataset a row came from
# Facts a FOCUS column carries as they are; every other source column is kept in x_Extensions.
CARRIED = (
    "cost", "date", "billing_period_start", "billing_period_end", "currency", "pricing_currency", "tags",
    "subscription_id", "subscription_name", "resource_id", "resource_name", "benefit_id", "benefit_name",
    "product_name", "meter_name", "product_id", "invoice_id", "publisher_name", "availability_zone",
)  # fmt: skip


def _extensions(header: AzureHeader, dataset: str) -> str:
    """Source columns FOCUS does not carry, keyed by their English name, plus the dataset of the row."""
    account = ("billing_profile_id", "billing_profile_name") if header.is_mca else ("billing_account_id", "billing_account_name")
    carried = {header.get(key) for key in (*CARRIED, *account)}
    entries = [f"{{'key': {sql_string(DATASET_KEY)}, 'value': {sql_string(dataset)}}}"]
    seen = {DATASET_KEY}
    for column in header.columns:
        if column in carried or column.english in seen:
            continue
        seen.add(column.english)
        value = expressions.text(sql_identifier(column.name), column.duck_type)
        entries.append(f"{{'key': {sql_string(column.english)}, 'value': {value}}}")
    return f"map_from_entries(list_filter([{', '.join(entries)}], lambda e: e.value IS NOT NULL))"


def _tags(header: AzureHeader) -> str:
    """EA writes tag members without the braces (`"a": "1","b": "2"`); Microsoft's rule is to add them."""
    column = header.get("tags")
    if column is None:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    if not expressions.is_text(column.duck_type):
        return expressions.tag_map(sql_identifier(column.name), column.duck_type)
    text = raw(header, "tags")
    return f"CAST(json(CASE WHEN left({text}, 1) = '{{' THEN {text} ELSE '{{' || {text} || '}}' END) AS MAP(VARCHAR, VARCHAR))"


def focus_columns(header: AzureHeader, dataset: str) -> dict[str, str]:
    """FOCUS column -> SQL. `dataset` (actual | amortized) decides BilledCost, the only column it changes."""
    r = lambda key: raw(header, key)

    def billed(value: str) -> str:
        # Actual: the invoice as is. Amortized: covered usage and unused commitment were billed by the purchase.
        return value if dataset == "actual" else f"CASE WHEN __cl_covered OR __cl_unused THEN 0 ELSE {value} END"

    def effective(value: str) -> str:
        return f"CASE WHEN __cl_commitment_purchase THEN 0 ELSE {value} END"

    not_tax = "__cl_charge_category <> 'Tax'"
    consumed = "(__cl_charge_type IS NULL OR __cl_charge_type = 'usage')"
    pricing_unit = "CASE WHEN __cl_block = 1 THEN __cl_distinct_unit ELSE CAST(__cl_block AS VARCHAR) || ' ' || __cl_distinct_unit END"
    list_cost = exact_product("__cl_list_unit_price", "__cl_pricing_quantity")
    if header.get("payg_cost"):
        list_cost = f"CASE WHEN COALESCE(__cl_payg_cost, 0) = 0 THEN {list_cost} ELSE __cl_payg_cost END"
    account = ("billing_profile_id", "billing_profile_name") if header.is_mca else ("billing_account_id", "billing_account_name")
    return {
        "BilledCost": billed("__cl_cost"),
        "EffectiveCost": effective("__cl_cost"),
        "ListCost": f"COALESCE({list_cost}, __cl_cost)",
        "ListUnitPrice": f"CASE WHEN {not_tax} THEN __cl_list_unit_price END",
        "ContractedCost": f"COALESCE({exact_product('__cl_contracted_unit_price', '__cl_pricing_quantity')}, __cl_cost)",
        "ContractedUnitPrice": f"CASE WHEN {not_tax} THEN __cl_contracted_unit_price END",
        "PricingQuantity": "__cl_pricing_quantity",
        "PricingUnit": f"CASE WHEN {not_tax} THEN COALESCE({pricing_unit}, __cl_unit_of_measure) END",
        "PricingCurrency": "__cl_pricing_currency",
        "PricingCurrencyEffectiveCost": effective("__cl_pricing_cost"),
        "ConsumedQuantity": f"CASE WHEN {consumed} THEN COALESCE(__cl_quantity * __cl_block, __cl_quantity) END",
        "ConsumedUnit": f"CASE WHEN {consumed} THEN COALESCE(__cl_distinct_unit, __cl_unit_of_measure) END",
        "ChargeCategory": "__cl_charge_category",
        "ChargeClass": "CASE WHEN __cl_charge_type = 'refund' THEN 'Correction' END",
        "ChargeFrequency": (
            "CASE __cl_frequency WHEN 'onetime' THEN 'One-Time' WHEN 'recurring' THEN 'Recurring' "
            "WHEN 'usagebased' THEN 'Usage-Based' ELSE CASE WHEN __cl_charge_category = 'Usage' THEN 'Usage-Based' "
            "ELSE 'One-Time' END END"
        ),
        "ChargeDescription": f"COALESCE({r('product_name')}, {r('meter_name')})",
        "ChargePeriodStart": "__cl_start",
        "ChargePeriodEnd": "__cl_start + INTERVAL 1 DAY",
        # Cost Management billing periods are calendar months; an export that leaves them empty gets the charge's.
        "BillingPeriodStart": "COALESCE(__cl_billing_start, date_trunc('month', __cl_start))",
        "BillingPeriodEnd": (
            "COALESCE(date_trunc('day', __cl_billing_end) + INTERVAL 1 DAY, date_trunc('month', __cl_start) + INTERVAL 1 MONTH)"
        ),
        "BillingAccountId": f"COALESCE({r(account[0])}, {r('subscription_id')})",
        "BillingAccountName": f"COALESCE({r(account[1])}, {r('subscription_name')})",
        "BillingAccountType": sql_string("Billing Profile" if header.is_mca else "Billing Account"),
        "BillingCurrency": "__cl_currency",
        "SubAccountId": r("subscription_id"),
        "SubAccountName": r("subscription_name"),
        "SubAccountType": f"CASE WHEN {r('subscription_id')} IS NOT NULL THEN 'Subscription' END",
        "CommitmentDiscountId": "__cl_commitment_id",
        "CommitmentDiscountName": "CASE WHEN __cl_commitment_id IS NOT NULL THEN __cl_commitment_name END",
        "CommitmentDiscountCategory": "CASE __cl_commitment_kind WHEN 'reservation' THEN 'Usage' WHEN 'savingsplan' THEN 'Spend' END",
        "CommitmentDiscountType": (
            "CASE __cl_commitment_kind WHEN 'reservation' THEN 'Reservation' WHEN 'savingsplan' THEN 'Savings Plan' END"
        ),
        "CommitmentDiscountStatus": (
            "CASE WHEN __cl_unused THEN 'Unused' WHEN __cl_covered AND __cl_commitment_id IS NOT NULL THEN 'Used' END"
        ),
        "PricingCategory": (
            "CASE WHEN __cl_pricing_model = 'spot' THEN 'Dynamic' WHEN __cl_covered OR __cl_unused THEN 'Committed' "
            "WHEN __cl_charge_category IN ('Usage', 'Purchase') THEN 'Standard' END"
        ),
        "RegionId": "COALESCE(__cl_region_id, replace(__cl_location, ' ', ''))",
        "RegionName": "__cl_region_name",
        "AvailabilityZone": r("availability_zone"),
        "ResourceId": "__cl_resource_id",
        "ResourceName": f"COALESCE({r('resource_name')}, NULLIF(regexp_extract(__cl_resource_id, '([^/]+)/*$', 1), ''))",
        "ResourceType": f"COALESCE({r('resource_type')}, __cl_arm_type)",
        "ServiceName": "__cl_service",
        "ServiceCategory": "CASE WHEN __cl_service IS NOT NULL THEN COALESCE(__cl_service_category, 'Other') END",
        "ServiceSubcategory": "CASE WHEN __cl_service IS NOT NULL THEN COALESCE(__cl_service_subcategory, 'Other (Other)') END",
        "ProviderName": "'Microsoft'",
        "PublisherName": f"COALESCE({r('publisher_name')}, 'Microsoft')",
        "InvoiceIssuerName": f"COALESCE({r('partner_name')}, 'Microsoft')",
        "InvoiceId": r("invoice_id"),
        "SkuId": f"COALESCE({r('product_id')}, {r('meter_id')})",
        "SkuMeter": r("meter_name"),
        "Tags": _tags(header),
        "x_ExchangeRateUsdToBilling": (
            "CASE WHEN __cl_currency = 'USD' THEN CAST(1 AS DECIMAL(38,18)) "
            "WHEN __cl_pricing_currency = 'USD' THEN __cl_exchange_rate END"
        ),
        "x_BilledCostInUsd": billed("__cl_usd_cost"),
        "x_EffectiveCostInUsd": effective("__cl_usd_cost"),
        "x_Extensions": _extensions(header, dataset),
    }
