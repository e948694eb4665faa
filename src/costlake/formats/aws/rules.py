"""AWS CUR -> FOCUS: the DuckDB expression for every FOCUS column costlake fills (docs/mappings/aws.md).

Every expression is built from the file's own (quoted) column names and constants. Costs are net of discounts
where the `*_net_*` twin exists (AWS adds those columns only when the account has discounts), else gross.
"""

from __future__ import annotations

from costlake import schema
from costlake.duckdb_io import sql_identifier, sql_string
from costlake.formats import expressions
from costlake.formats.aws.columns import Column, CurHeader
from costlake.formats.aws.maps import (
    extension_values,
    map_part,
    per_key_part,
    tag_entries,
)

ZERO = "CAST(0 AS DECIMAL(38,18))"
# The service-category lookup is joined onto each row under these names (see aws_cur.py).
CATEGORY_COLUMN = "__costlake_service_category"
SUBCATEGORY_COLUMN = "__costlake_service_subcategory"
# True on the extra row costlake makes for the unused part of an RIFee / SavingsPlanRecurringFee line (aws_cur.py).
UNUSED_COLUMN = "__costlake_unused_commitment"
# Cost categories in Tags: legacy CUR's own prefix; CUR tag keys start with user:/aws: or user_/aws_, so never collide.
COST_CATEGORY_PREFIX = "costCategory/"

USAGE_TYPES = ("Usage", "SavingsPlanCoveredUsage", "DiscountedUsage")
COMMITTED_USAGE_TYPES = ("SavingsPlanCoveredUsage", "SavingsPlanNegation", "DiscountedUsage")
PURCHASE_TYPES = ("Fee", "RIFee", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee")
RECURRING_FEE_TYPES = ("RIFee", "SavingsPlanRecurringFee")
# Discounts shown as their own lines (manual discount compatibility on, or legacy CUR).
DISCOUNT_TYPES = ("EdpDiscount", "PrivateRateDiscount", "BundledDiscount", "Discount", "SppDiscount", "RiVolumeDiscount", "DistributorDiscount")
# Source columns kept in x_Extensions when present (by snake name; the key is the file's own spelling). Not the
# ones a FOCUS column already holds (net cost = BilledCost, the ARNs = CommitmentDiscountId; the discount total is
# line_item_unblended_cost - BilledCost). Each kept column costs about 5% of conversion time on a 5M-row export.
EXTENSION_COLUMNS = (
    "identity_line_item_id",
    "line_item_line_item_type",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_product_code",
    "line_item_tax_type",
    "line_item_unblended_cost",
    "bill_bill_type",
    "bill_billing_entity",
    "product_product_family",
    "pricing_term",
    "pricing_unit",
)


# CUR pricing units -> FOCUS Unit Format (time units spelled out and plural after a hyphen): whole units first,
# then suffixes; at most one rewrite applies, other units pass unchanged. The original stays in x_Extensions
# (`pricing_unit`). Plain comparisons, not regexp_replace: five regular expressions per row cost a third of a second
# per 500,000 rows.
UNIT_NAMES = {"Lambda-GB-Second": "GB-Seconds", "Lambda-GB-Seconds": "GB-Seconds", "Hr": "Hours", "Hrs": "Hours"}
UNIT_SUFFIXES = (
    ("-Mo", "-Months"), ("-Hr", "-Hours"), ("-Hrs", "-Hours"), ("-Month", "-Months"), ("-Hour", "-Hours"),
    ("-Day", "-Days"), ("-Second", "-Seconds"), ("-Minute", "-Minutes"),
)


def focus_unit(unit: str) -> str:
    names = " ".join(f"WHEN {sql_string(name)} THEN {sql_string(focus)}" for name, focus in UNIT_NAMES.items())
    suffixes = " ".join(
        f"WHEN ends_with({unit}, {sql_string(suffix)}) THEN left({unit}, -{len(suffix)}) || {sql_string(focus)}"
        for suffix, focus in UNIT_SUFFIXES
    )
    return f"CASE {unit} {names} ELSE CASE {suffixes} ELSE {unit} END END"


class CurRules:
    """Expressions for one file's header.

    Values used by several FOCUS columns (every money column, the line type, BilledCost) are computed once per row
    in a projection under the FOCUS SELECT (`derived`, see aws_cur._source) and referenced by name: DuckDB does not
    share a repeated expression across columns, and a double's text-to-decimal conversion is not cheap.
    """

    def __init__(self, header: CurHeader) -> None:
        self.header = header
        self.derived: dict[str, str] = {}  # alias -> expression over the file's columns

    def _derive(self, alias: str, expression: str) -> str:
        self.derived.setdefault(f"__costlake_{alias}", expression)
        return sql_identifier(f"__costlake_{alias}")

    def is_type(self, types: tuple[str, ...]) -> str:
        """Whether the line item type is one of `types`, computed once per row. A simple CASE, not `IN (...)`:
        DuckDB plans a constant IN list (or list_contains) of more than a few values as a join, one per use."""
        whens = " ".join(f"WHEN {sql_string(name)} THEN true" for name in types)
        return self._derive("is_" + "_".join(types), f"CASE {self.line_type} {whens} ELSE false END")

    # -- raw columns -------------------------------------------------------------------------------------------

    def money(self, name: str) -> str | None:
        column = self.header.get(name)
        return self._derive(name, expressions.decimal(column.sql, column.duck_type)) if column else None

    def net_or_gross(self, net: str, gross: str) -> str | None:
        """The net twin where it exists and has a value, else the gross column."""
        parts = [part for part in (self.money(net), self.money(gross)) if part]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"

    def text(self, name: str) -> str | None:
        column = self.header.get(name)
        return expressions.text(column.sql, column.duck_type) if column else None

    def product(self, attribute: str) -> str | None:
        """A product attribute: its own column (`product_region_code`, `product/regionCode`), else the CUR 2.0 map."""
        flat = self.text(f"product_{attribute}")
        if flat:
            return flat
        column = self.header.get("product")
        if column is None:
            return None
        return _map_value(column, attribute)

    def first_text(self, *candidates: str | None) -> str | None:
        present = [candidate for candidate in candidates if candidate]
        if not present:
            return None
        return present[0] if len(present) == 1 else f"COALESCE({', '.join(present)})"

    # -- FOCUS columns -----------------------------------------------------------------------------------------

    @property
    def line_type(self) -> str:
        return self._derive("line_type", self.text("line_item_line_item_type") or "CAST(NULL AS VARCHAR)")

    @property
    def billed_cost(self) -> str:
        return self._derive("billed", self.net_or_gross("line_item_net_unblended_cost", "line_item_unblended_cost") or ZERO)

    def effective_cost(self) -> str:
        """Amortized cost of the line; the unused commitment of a recurring fee goes to its own row (unused_row)."""
        billed = self.billed_cost
        sp_effective = self.net_or_gross("savings_plan_net_savings_plan_effective_cost", "savings_plan_savings_plan_effective_cost")
        ri_effective = self.net_or_gross("reservation_net_effective_cost", "reservation_effective_cost")
        return (
            f"CASE WHEN {self.line_type} = 'SavingsPlanCoveredUsage' THEN COALESCE({sp_effective or 'NULL'}, {billed}) "
            f"WHEN {self.line_type} = 'DiscountedUsage' THEN COALESCE({ri_effective or 'NULL'}, {billed}) "
            f"WHEN {self.line_type} = 'Fee' AND {self.reservation_arn} IS NOT NULL THEN 0 "
            f"WHEN {self.is_type(('SavingsPlanNegation', 'SavingsPlanUpfrontFee', *RECURRING_FEE_TYPES))} THEN 0 "
            f"ELSE {billed} END"
        )

    def unused_commitment(self) -> str:
        """What a recurring fee line paid for and nobody used: RI unused amortized upfront + unused recurring fee;
        SP commitment to date - used commitment. Zero on every other line."""
        unused_upfront = self.net_or_gross(
            "reservation_net_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_amortized_upfront_fee_for_billing_period"
        )
        unused_recurring = self.net_or_gross("reservation_net_unused_recurring_fee", "reservation_unused_recurring_fee")
        commitment = self.money("savings_plan_total_commitment_to_date")
        used = self.money("savings_plan_used_commitment")
        return (
            f"CASE {self.line_type} "
            f"WHEN 'RIFee' THEN COALESCE({unused_upfront or ZERO}, 0) + COALESCE({unused_recurring or ZERO}, 0) "
            f"WHEN 'SavingsPlanRecurringFee' THEN COALESCE({commitment or ZERO}, 0) - COALESCE({used or ZERO}, 0) "
            f"ELSE {ZERO} END"
        )

    def unused_row(self, currency: str) -> dict[str, str]:
        """The values of the unused-commitment row FOCUS wants beside the fee's Purchase row (spec example
        commitment_discount_usage_scenario_2): Usage, Unused, BilledCost 0, EffectiveCost = the unused amount."""
        unused = self.unused_commitment()
        quantity = self.money("reservation_unused_quantity")
        unit = self.pricing_unit()
        description = self.text("line_item_line_item_description") or "NULL"
        return {
            "BilledCost": ZERO,
            "EffectiveCost": unused,
            "ListCost": ZERO,
            "ContractedCost": ZERO,
            "ChargeCategory": "'Usage'",
            "ChargeFrequency": "'Usage-Based'",
            "PricingCategory": "'Committed'",
            "CommitmentDiscountStatus": "'Unused'",
            "ChargeDescription": f"'Unused commitment: ' || COALESCE({description}, {self.line_type})",
            "ConsumedQuantity": "CAST(NULL AS DECIMAL(38,18))",
            "ConsumedUnit": "CAST(NULL AS VARCHAR)",
            "PricingQuantity": f"CASE WHEN {self.line_type} = 'RIFee' THEN {quantity or 'NULL'} END",
            "PricingUnit": f"CASE WHEN {self.line_type} = 'RIFee' THEN {unit or 'NULL'} END",
            "ContractedUnitPrice": "CAST(NULL AS DECIMAL(38,18))",
            "ListUnitPrice": "CAST(NULL AS DECIMAL(38,18))",
            schema.BILLED_COST_USD: f"CASE WHEN {currency} = 'USD' THEN {ZERO} END",
            schema.EFFECTIVE_COST_USD: f"CASE WHEN {currency} = 'USD' THEN {unused} END",
        }

    def contracted_cost(self) -> str:
        """Cost at the negotiated rate before commitment discounts (AWS gives no column for it)."""
        on_demand = self.money("pricing_public_on_demand_cost") or ZERO
        return (
            f"CASE {self.line_type} WHEN 'DiscountedUsage' THEN COALESCE({on_demand}, 0) "
            f"WHEN 'SavingsPlanNegation' THEN 0 ELSE {self.billed_cost} END"
        )

    def list_cost(self) -> str:
        on_demand = self.money("pricing_public_on_demand_cost")
        return f"COALESCE({on_demand}, {self.billed_cost})" if on_demand else self.billed_cost

    @property
    def charge_category(self) -> str:
        return (
            f"CASE WHEN {self.is_type((*USAGE_TYPES, 'SavingsPlanNegation'))} THEN 'Usage' "
            f"WHEN {self.is_type(PURCHASE_TYPES)} THEN 'Purchase' "
            f"WHEN {self.line_type} = 'Tax' THEN 'Tax' "
            f"WHEN {self.is_type(('Credit', *DISCOUNT_TYPES))} THEN 'Credit' "
            "ELSE 'Adjustment' END"
        )

    def charge_class(self, charge_start: str, billing_start: str) -> str:
        """Refunds of an earlier billing period correct it; everything else is a regular charge."""
        return (
            f"CASE WHEN {self.line_type} = 'Refund' AND {charge_start} < {billing_start} THEN 'Correction' END"
        )

    def charge_frequency(self) -> str:
        bill_type = self.text("bill_bill_type") or "CAST(NULL AS VARCHAR)"
        return (
            f"CASE WHEN {self.is_type((*USAGE_TYPES, 'SavingsPlanNegation', *DISCOUNT_TYPES))} THEN 'Usage-Based' "
            f"WHEN {self.is_type(RECURRING_FEE_TYPES)} THEN 'Recurring' "
            f"WHEN {self.line_type} = 'Fee' AND {bill_type} = 'Anniversary' THEN 'Recurring' "
            "ELSE 'One-Time' END"
        )

    @property
    def savings_plan_arn(self) -> str:
        return self._arn("savings_plan_savings_plan_a_r_n")

    @property
    def reservation_arn(self) -> str:
        return self._arn("reservation_reservation_a_r_n")

    def _arn(self, name: str) -> str:
        text = self.text(name)
        return f"NULLIF(TRIM({text}), '')" if text else "CAST(NULL AS VARCHAR)"

    def commitment_columns(self) -> dict[str, str]:
        sp, ri = self.savings_plan_arn, self.reservation_arn
        return {
            "CommitmentDiscountId": f"COALESCE({sp}, {ri})",
            "CommitmentDiscountCategory": f"CASE WHEN {sp} IS NOT NULL THEN 'Spend' WHEN {ri} IS NOT NULL THEN 'Usage' END",
            "CommitmentDiscountType": f"CASE WHEN {sp} IS NOT NULL THEN 'Savings Plan' WHEN {ri} IS NOT NULL THEN 'Reserved Instance' END",
            "CommitmentDiscountStatus": (
                f"CASE WHEN COALESCE({sp}, {ri}) IS NOT NULL AND {self.is_type(COMMITTED_USAGE_TYPES)} THEN 'Used' END"
            ),
        }

    def pricing_category(self) -> str:
        term = self.text("pricing_term") or "CAST(NULL AS VARCHAR)"
        usage_type = self.text("line_item_usage_type") or "CAST(NULL AS VARCHAR)"
        return (
            f"CASE WHEN {self.is_type(COMMITTED_USAGE_TYPES)} THEN 'Committed' "
            f"WHEN {self.is_type(PURCHASE_TYPES)} THEN 'Standard' "
            f"WHEN {self.line_type} <> 'Usage' OR {self.line_type} IS NULL THEN NULL "
            f"WHEN lower({term}) = 'spot' OR {usage_type} LIKE '%SpotUsage%' THEN 'Dynamic' "
            f"WHEN lower({term}) = 'ondemand' THEN 'Standard' "
            f"WHEN lower({term}) = 'reserved' THEN 'Committed' "
            "ELSE 'Other' END"
        )

    def pricing_unit(self) -> str | None:
        """`pricing_unit` in FOCUS Unit Format, computed once per row (three columns use it)."""
        unit = self.text("pricing_unit")
        return self._derive("unit", focus_unit(unit)) if unit else None

    def quantities(self) -> dict[str, str]:
        amount = self.money("line_item_usage_amount")
        unit = self.pricing_unit()
        columns: dict[str, str] = {}
        if amount:
            columns["ConsumedQuantity"] = f"CASE WHEN {self.is_type(USAGE_TYPES)} THEN {amount} END"
            columns["PricingQuantity"] = f"CASE WHEN {self.is_type((*USAGE_TYPES, *PURCHASE_TYPES))} THEN {amount} END"
        if unit:
            columns["ConsumedUnit"] = f"CASE WHEN {self.is_type(USAGE_TYPES)} THEN {unit} END"
            columns["PricingUnit"] = f"CASE WHEN {self.is_type((*USAGE_TYPES, *PURCHASE_TYPES))} THEN {unit} END"
        rate = self.net_or_gross("line_item_net_unblended_rate", "line_item_unblended_rate")
        if rate:
            columns["ContractedUnitPrice"] = f"CASE WHEN {self.is_type((*USAGE_TYPES, *PURCHASE_TYPES))} THEN {rate} END"
        list_rate = self.money("pricing_public_on_demand_rate")
        if list_rate:
            columns["ListUnitPrice"] = f"CASE WHEN {self.is_type((*USAGE_TYPES, *PURCHASE_TYPES))} THEN {list_rate} END"
        return columns

    def tags(self) -> str:
        """The entries of Tags as one LIST of {key, value, origin} (aws_cur_maps makes Tags and x_TagOrigins of it):
        cost categories (keys prefixed `costCategory/`), then resource tags (CUR 2.0 `tags` when present, else
        `resource_tags`, else the legacy per-key columns); keys exactly as AWS writes them."""
        parts: list[str] = []
        categories = self.header.get("cost_category")
        if categories is not None:
            parts.append(map_part(expressions.tag_map(categories.sql, categories.duck_type), "cost_category", COST_CATEGORY_PREFIX))
        elif self.header.cost_category_columns:
            parts.append(per_key_part(_texts(self.header.cost_category_columns), "cost_category", COST_CATEGORY_PREFIX))
        resource = self.header.get("tags") or self.header.get("resource_tags")
        if resource is not None:
            origin = "tag" if resource is self.header.get("tags") else "resource_tag"
            parts.append(map_part(expressions.tag_map(resource.sql, resource.duck_type), origin))
        elif self.header.tag_columns:
            parts.append(per_key_part(_texts(self.header.tag_columns), "resource_tag"))
        return tag_entries(parts)

    def extensions(self) -> tuple[str, tuple[str, ...]]:
        """The kept source columns' text as one LIST, and their names (the map's keys; see aws_cur_maps)."""
        kept = [self.header.columns[name] for name in EXTENSION_COLUMNS if name in self.header.columns]
        return extension_values([expressions.text(column.sql, column.duck_type) for column in kept]), tuple(column.name for column in kept)

    def usd_columns(self, currency: str, effective: str) -> dict[str, str]:
        """CUR states costs in the billing currency and gives no exchange rate: only USD rows get the USD columns."""
        return {
            schema.EXCHANGE_RATE: f"CASE WHEN {currency} = 'USD' THEN CAST(1 AS DECIMAL(38,18)) END",
            schema.BILLED_COST_USD: f"CASE WHEN {currency} = 'USD' THEN {self.billed_cost} END",
            schema.EFFECTIVE_COST_USD: f"CASE WHEN {currency} = 'USD' THEN {effective} END",
        }


def _map_value(column: Column, key: str) -> str:
    if column.duck_type.startswith("MAP("):
        return f"CAST({column.sql}[{sql_string(key)}] AS VARCHAR)"
    text = expressions.NULL_TEXT.format(c=column.sql)
    path = sql_string('$."' + key + '"')
    return f"json_extract_string({text}, {path})"


def _texts(columns: list[tuple[str, Column]]) -> list[tuple[str, str]]:
    """Legacy per-key columns (`resourceTags/user:Owner`) as (key, text expression)."""
    return [(key, expressions.text(column.sql, column.duck_type)) for key, column in columns]
