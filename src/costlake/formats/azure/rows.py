"""The rows of one Azure cost details file as SQL: each raw column typed once, joined to Microsoft's lookups, plus
the flags Microsoft's rules test (`__cl_*` columns), so the FOCUS mapping refers to short names, not to
repeated expressions.
"""

from __future__ import annotations

from costlake.duckdb_io import sql_identifier
from costlake.formats import expressions
from costlake.formats.azure import lookups
from costlake.formats.azure.amounts import exact_product
from costlake.formats.azure.columns import AzureHeader

AMORTIZED_MONTHS = "azure_amortized_months"  # registered by the reader when both datasets are present
COMMITMENT_MODELS = "('reservation', 'savingsplan')"
UNUSED_TYPES = "('unusedreservation', 'unusedsavingsplan')"


def raw(header: AzureHeader, key: str, kind: str = "text") -> str:
    """The typed SQL value of a source column, or a typed NULL when the file lacks it."""
    column = header.get(key)
    if column is None:
        return {"decimal": "CAST(NULL AS DECIMAL(38,18))", "timestamp": "CAST(NULL AS TIMESTAMPTZ)"}.get(kind, "CAST(NULL AS VARCHAR)")
    identifier = sql_identifier(column.name)
    if kind == "decimal":
        return expressions.decimal(identifier, column.duck_type)
    if kind == "timestamp":
        return expressions.timestamp(identifier, column.duck_type, column.english)
    return f"NULLIF(TRIM({expressions.text(identifier, column.duck_type)}), '')"


def _arm_type(resource_id: str) -> str:
    """`/subscriptions/../providers/Microsoft.Sql/servers/s/databases/d` -> `microsoft.sql/servers/databases`
    (after the last `/providers/`, any case: the namespace, then every other segment)."""
    lowered = f"lower({resource_id})"
    segments = f"string_split(string_split({lowered}, '/providers/')[-1], '/')"
    return (
        f"CASE WHEN contains({lowered}, '/providers/') THEN NULLIF(array_to_string("
        f"list_filter({segments}, lambda segment, i: i = 1 OR i % 2 = 0), '/'), '') END"
    )


def _typed(header: AzureHeader) -> dict[str, str]:
    r = lambda key, kind="text": raw(header, key, kind)
    commitment_id = (
        f"NULLIF(regexp_replace(COALESCE({r('benefit_id')}, {r('reservation_id')}), "
        "'(/(reservations|savingsplans))?/+$', '', 'i'), '')"
    )
    currency = f"upper({r('currency')})"
    cost = r("cost", "decimal")
    return {
        "cost": cost,
        "quantity": r("quantity", "decimal"),
        "charge_type": f"lower({r('charge_type')})",
        "pricing_model": f"lower({r('pricing_model')})",
        "frequency": f"lower({r('frequency')})",
        "start": r("date", "timestamp"),
        "billing_start": r("billing_period_start", "timestamp"),
        "billing_end": r("billing_period_end", "timestamp"),
        "currency": currency,
        # EA and legacy exports price in the billing currency; MCA says its pricing currency and cost in it.
        "pricing_currency": f"COALESCE(upper({r('pricing_currency')}), {currency})",
        "pricing_cost": r("cost_in_pricing_currency", "decimal") if header.get("cost_in_pricing_currency") else cost,
        "usd_cost": r("cost_in_usd", "decimal") if header.get("cost_in_usd") else f"CASE WHEN {currency} = 'USD' THEN {cost} END",
        "exchange_rate": r("exchange_rate_pricing_to_billing", "decimal"),
        "unit_price": r("unit_price", "decimal"),
        "effective_price": r("effective_price", "decimal"),
        # MCA states PayGPrice in the pricing currency (Microsoft: ListUnitPrice = PayGPrice x ExchangeRate).
        "payg_price": (
            exact_product(r("payg_price", "decimal"), r("exchange_rate_pricing_to_billing", "decimal"))
            if header.is_mca and header.get("exchange_rate_pricing_to_billing")
            else r("payg_price", "decimal")
        ),
        "payg_cost": r("payg_cost", "decimal"),
        "commitment_id": commitment_id,
        "commitment_name": f"COALESCE({r('benefit_name')}, {r('reservation_name')})",
        "resource_id": r("resource_id"),
        "arm_type": _arm_type(r("resource_id")),
        "consumed_service": f"lower({r('consumed_service')})",
        "unit_of_measure": r("unit_of_measure"),
        "location": f"lower({r('location')})",
        "service_fallback": f"COALESCE({r('service_name')}, {r('meter_category')}, {r('consumed_service')})",
    }


def source_sql(header: AzureHeader, scan: str, merging_actual: bool) -> str:
    """SQL yielding the file's rows with the `__cl_*` columns. With `merging_actual` (an actual file read beside
    the amortized dataset), only commitment purchases and refunds are kept in the months the amortized data covers."""
    typed = ", ".join(f"{sql} AS __cl_{name}" for name, sql in _typed(header).items())
    joined = (
        f"SELECT t.*, pu.block_size AS __cl_block, pu.distinct_unit AS __cl_distinct_unit, "
        f"rg.region_id AS __cl_region_id, rg.region_name AS __cl_region_name, "
        f"COALESCE(sp.service_name, st.service_name, sc.service_name, t.__cl_service_fallback) AS __cl_service "
        f"FROM (SELECT *, {typed} FROM {scan}) t "
        f"LEFT JOIN {lookups.PRICING_UNITS} pu ON pu.unit_key = lower(t.__cl_unit_of_measure) "
        f"LEFT JOIN {lookups.REGIONS} rg ON rg.location_key = t.__cl_location "
        f"LEFT JOIN {lookups.SERVICE_NAMES} sp ON sp.match_kind = 'pair' AND sp.match_key = t.__cl_consumed_service || '|' || t.__cl_arm_type "
        f"LEFT JOIN {lookups.SERVICE_NAMES} st ON st.match_kind = 'type' AND st.match_key = t.__cl_arm_type "
        f"LEFT JOIN {lookups.SERVICE_NAMES} sc ON sc.match_kind = 'consumed' AND sc.match_key = t.__cl_consumed_service"
    )
    flagged = (
        f"SELECT j.*, c.category AS __cl_service_category, c.subcategory AS __cl_service_subcategory, "
        f"(__cl_charge_type = 'usage' AND __cl_pricing_model IN {COMMITMENT_MODELS}) AS __cl_covered, "
        f"(__cl_charge_type IN {UNUSED_TYPES}) AS __cl_unused, "
        f"(__cl_charge_type IN ('purchase', 'refund') AND __cl_pricing_model IN {COMMITMENT_MODELS}) AS __cl_commitment_purchase, "
        f"CASE WHEN __cl_charge_type IS NULL OR __cl_charge_type IN ('usage', 'unusedreservation', 'unusedsavingsplan') THEN 'Usage' "
        f"WHEN __cl_charge_type IN ('purchase', 'refund') THEN 'Purchase' WHEN __cl_charge_type = 'tax' THEN 'Tax' "
        f"WHEN __cl_charge_type = 'credit' THEN 'Credit' ELSE 'Adjustment' END AS __cl_charge_category, "
        f"CASE WHEN __cl_commitment_id ILIKE '%/microsoft.capacity/%' THEN 'reservation' "
        f"WHEN __cl_commitment_id ILIKE '%/microsoft.billingbenefits/%' THEN 'savingsplan' "
        f"WHEN __cl_charge_type = 'unusedreservation' THEN 'reservation' WHEN __cl_charge_type = 'unusedsavingsplan' THEN 'savingsplan' "
        f"WHEN __cl_commitment_id IS NOT NULL AND __cl_pricing_model IN {COMMITMENT_MODELS} THEN __cl_pricing_model END "
        f"AS __cl_commitment_kind, "
        # Microsoft's fallbacks (ftk_NormalizeSchema): no unit price -> the effective price; no list price -> contracted.
        f"CASE WHEN COALESCE(__cl_unit_price, 0) = 0 THEN COALESCE(__cl_effective_price, __cl_unit_price) "
        f"ELSE __cl_unit_price END AS __cl_contracted_unit_price "
        f"FROM ({joined}) j LEFT JOIN {lookups.SERVICE_CATEGORIES} c ON c.name_key = lower(j.__cl_service)"
    )
    priced = (
        f"SELECT *, CASE WHEN COALESCE(__cl_payg_price, 0) = 0 THEN __cl_contracted_unit_price ELSE __cl_payg_price END "
        f"AS __cl_list_unit_price, CASE WHEN __cl_charge_category <> 'Tax' THEN __cl_quantity END AS __cl_pricing_quantity "
        f"FROM ({flagged})"
    )
    rows = f"SELECT * FROM ({priced})"
    if merging_actual:
        month = "strftime(COALESCE(__cl_billing_start, __cl_start), '%Y-%m')"
        rows += f" WHERE __cl_commitment_purchase OR {month} NOT IN (SELECT month FROM {AMORTIZED_MONTHS})"
    return f"({rows})"
