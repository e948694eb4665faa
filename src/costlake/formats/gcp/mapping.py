"""GCP billing export fields -> FOCUS columns: the rules of docs/mappings/gcp.md, as DuckDB SQL.

Built in two steps over the source relation: `prepared_source` parses the repeated fields once per row (credits,
the four label kinds merged by precedence), then `focus_columns` maps every FOCUS column from the prepared row.
SQL is built only from the export's own field names (quoted) and constants.
"""

from __future__ import annotations

from costlake import schema
from costlake.duckdb_io import sql_string
from costlake.formats.gcp.fields import Fields
from costlake.formats.service_categories import service_categories

PROVIDER = "Google Cloud"
BILLING_TIME_ZONE = "America/Los_Angeles"  # Google's invoice months are Pacific-time months
# Tag origins, highest precedence first: a resource's own labels, then tags (own or inherited), then the project's
# labels, then Google's system labels (whose keys are namespaced, so they rarely collide).
TAG_ORIGINS = (("labels", "label"), ("tags", "tag"), ("project.labels", "project_label"), ("system_labels", "system_label"))
COST_TYPES = ("regular", "tax", "adjustment", "rounding_error")
CUD_CREDIT_CATEGORIES = {"COMMITTED_USAGE_DISCOUNT": "Usage", "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE": "Spend"}
ADJUSTMENT_INFO = ("adjustment_info.id", "adjustment_info.description", "adjustment_info.type", "adjustment_info.mode")
# Fields every FOCUS column reads fully; every other field of the export is kept in x_Extensions by its dotted path.
MAPPED_FIELDS = frozenset(
    {
        "billing_account_id", "service.description", "sku.id", "sku.description", "usage_start_time", "usage_end_time",
        "project.id", "project.name", "labels", "system_labels", "project.labels", "tags", "location.region",
        "location.zone", "cost", "currency", "currency_conversion_rate", "usage.amount", "usage.unit",
        "usage.amount_in_pricing_units", "usage.pricing_unit", "invoice.month", "cost_at_list", "price.list_price",
        "price.effective_price", "resource.name", "resource.global_name", "subscription.instance_id",
    }
)  # fmt: skip

DEC = "DECIMAL(38,18)"
TAG_ENTRY = "STRUCT(rank INTEGER, key VARCHAR, value VARCHAR, origin VARCHAR)"


def _or_null(expression: str | None, sql_type: str = "VARCHAR") -> str:
    return expression or f"CAST(NULL AS {sql_type})"


def _tag_entries(fields: Fields) -> str:
    """Every label, tag and system label of the row as (rank, key, value, origin), sorted so the winner comes first."""
    parts = []
    for rank, (path, origin) in enumerate(TAG_ORIGINS, start=1):
        repeated = fields.repeated(path)
        if repeated is not None:
            parts.append(
                f"COALESCE(list_transform({repeated}, lambda e: {{'rank': {rank}, 'key': e.key, 'value': e.value, "
                f"'origin': {sql_string(origin)}}}::{TAG_ENTRY}), [])"
            )
    merged = f"CAST([] AS {TAG_ENTRY}[])"
    for part in parts:
        merged = f"list_concat({merged}, {part})"
    return f"list_sort(list_filter({merged}, lambda e: e.key IS NOT NULL))"


def prepared_source(fields: Fields, source: str) -> str:
    """The source rows plus the parsed helper columns every FOCUS column reads (`__gcp_*`)."""
    credits = fields.repeated("credits")
    cost_type = fields.text("cost_type")
    helpers = {
        "__gcp_cost": _or_null(fields.money("cost"), DEC),
        "__gcp_credits": _or_null(credits, "STRUCT(name VARCHAR, amount VARCHAR, full_name VARCHAR, id VARCHAR, type VARCHAR)[]"),
        # "rounding error" and "rounding_error" both occur; one spelling from here on.
        "__gcp_cost_type": "NULL::VARCHAR" if cost_type is None else f"replace(lower(trim({cost_type})), ' ', '_')",
        "__gcp_tag_entries": _tag_entries(fields),
        "__gcp_commitment_fee": f"COALESCE({_or_null(fields.text('sku.description'))} ILIKE 'commitment%', false)",
    }
    first = ", ".join(f"{expression} AS {name}" for name, expression in helpers.items())
    cud_types = "[" + ", ".join(sql_string(name) for name in CUD_CREDIT_CATEGORIES) + "]"
    second = (
        f"COALESCE(list_sum(list_transform(__gcp_credits, lambda c: CAST(NULLIF(trim(c.amount), '') AS {DEC}))), 0) "
        "AS __gcp_credit_total, "
        f"list_filter(__gcp_credits, lambda c: list_contains({cud_types}, c.type))[1] AS __gcp_cud, "
        "list_filter(__gcp_tag_entries, lambda e, i: i = 1 OR NOT list_contains("
        "list_transform(__gcp_tag_entries[1:i - 1], lambda x: x.key), e.key)) AS __gcp_tags"
    )
    return f"(SELECT *, {second} FROM (SELECT *, {first} FROM {source}))"


def _charge_category() -> str:
    """Rows without a cost_type (exports from before it existed) are usage; an unknown value stops the file."""
    problem = sql_string("column cost_type: unknown value '") + " || __gcp_cost_type || " + sql_string(
        f"'; expected one of {', '.join(COST_TYPES)}"
    )
    return (
        "CASE WHEN COALESCE(__gcp_cost_type, 'regular') = 'regular' THEN 'Usage' WHEN __gcp_cost_type = 'tax' THEN 'Tax' "
        f"WHEN __gcp_cost_type IN ('adjustment', 'rounding_error') THEN 'Adjustment' ELSE error({problem}) END"
    )


def _lookup(values: dict[str, str], key: str, default: str) -> str:
    keys = "[" + ", ".join(sql_string(k) for k in values) + "]"
    mapped = "[" + ", ".join(sql_string(v) for v in values.values()) + "]"
    return f"COALESCE(map({keys}, {mapped})[lower({key})], {sql_string(default)})"


def _service_columns(service_name: str) -> dict[str, str]:
    table = service_categories("gcp")
    return {
        "ServiceCategory": _lookup({k: v[0] for k, v in table.items()}, service_name, "Other"),
        "ServiceSubcategory": _lookup({k: v[1] for k, v in table.items()}, service_name, "Other (Other)"),
    }


def _extensions(fields: Fields) -> str:
    entries = []
    for path in sorted(fields.by_path):
        if path in MAPPED_FIELDS:
            continue
        # Credits are kept as normalized JSON, whichever way the export wrote them (a CSV holds a Python literal).
        text = f"CAST(to_json({fields.repeated(path)}) AS VARCHAR)" if path == "credits" else fields.text(path)
        entries.append(f"{{'key': {sql_string(path)}, 'value': {text}}}")
    if not entries:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    return f"map_from_entries(list_filter([{', '.join(entries)}], lambda e: e.value IS NOT NULL))"


def focus_columns(fields: Fields) -> dict[str, str]:
    """{FOCUS or fixed x_ column: expression over `prepared_source`}."""
    regular = "COALESCE(__gcp_cost_type, 'regular') = 'regular'"
    net = "(__gcp_cost + __gcp_credit_total)"
    currency = _or_null(fields.text("currency"))
    invoice_month = fields.text("invoice.month")
    month_start = (
        f"timezone({sql_string(BILLING_TIME_ZONE)}, strptime(NULLIF(trim({invoice_month}), ''), '%Y%m'))" if invoice_month else None
    )
    service_name = _or_null(fields.text("service.description"))
    sku_description = _or_null(fields.text("sku.description"))
    cud_category = "CASE __gcp_cud.type " + " ".join(
        f"WHEN {sql_string(kind)} THEN {sql_string(category)}" for kind, category in CUD_CREDIT_CATEGORIES.items()
    ) + " END"
    fee_category = f"CASE WHEN {sku_description} ILIKE '%dollar based%' THEN 'Spend' ELSE 'Usage' END"
    commitment = f"(__gcp_cud IS NOT NULL AND {regular}) OR __gcp_commitment_fee"
    adjustment_info = [text for path in ADJUSTMENT_INFO if (text := fields.text(path)) is not None]
    project_id = fields.text("project.id")
    tags = "list_transform(__gcp_tags, lambda e: {'key': e.key, 'value': e.value})"
    origins = "list_transform(__gcp_tags, lambda e: {'key': e.key, 'value': e.origin})"

    columns = {
        "BilledCost": net,
        "EffectiveCost": net,
        "ListCost": f"COALESCE({_or_null(fields.money('cost_at_list'), DEC)}, __gcp_cost)",
        "ContractedCost": "__gcp_cost",
        "ListUnitPrice": f"CASE WHEN {regular} THEN {_or_null(fields.money('price.list_price'), DEC)} END",
        "ContractedUnitPrice": f"CASE WHEN {regular} THEN {_or_null(fields.money('price.effective_price'), DEC)} END",
        "BillingAccountId": fields.text("billing_account_id"),
        "BillingAccountType": "'Billing Account'",
        "SubAccountId": project_id,
        "SubAccountName": fields.text("project.name"),
        "SubAccountType": f"CASE WHEN {project_id} IS NOT NULL THEN 'Project' END" if project_id else None,
        "BillingCurrency": currency,
        "BillingPeriodStart": month_start,
        "BillingPeriodEnd": f"{month_start} + INTERVAL 1 MONTH" if month_start else None,
        "ChargeCategory": _charge_category(),
        "ChargeClass": f"CASE WHEN {' OR '.join(f'{t} IS NOT NULL' for t in adjustment_info)} THEN 'Correction' END"
        if adjustment_info
        else None,
        "ChargeDescription": fields.text("sku.description"),
        "ChargeFrequency": f"CASE WHEN __gcp_commitment_fee AND {regular} THEN 'Recurring' WHEN {regular} THEN 'Usage-Based' "
        "ELSE 'One-Time' END",
        "ChargePeriodStart": fields.timestamp("usage_start_time", "ChargePeriodStart"),
        "ChargePeriodEnd": fields.timestamp("usage_end_time", "ChargePeriodEnd"),
        "CommitmentDiscountCategory": f"CASE WHEN __gcp_commitment_fee THEN {fee_category} WHEN {regular} THEN {cud_category} END",
        "CommitmentDiscountId": f"CASE WHEN {commitment} THEN COALESCE({_or_null(fields.text('subscription.instance_id'))}, "
        "__gcp_cud.id) END",
        "CommitmentDiscountName": f"CASE WHEN {regular} THEN COALESCE(__gcp_cud.full_name, __gcp_cud.name) END",
        "CommitmentDiscountType": f"CASE WHEN {commitment} THEN 'Committed Use Discount' END",
        "CommitmentDiscountStatus": f"CASE WHEN __gcp_cud IS NOT NULL AND {regular} THEN 'Used' END",
        "ConsumedQuantity": f"CASE WHEN {regular} THEN {_or_null(fields.money('usage.amount'), DEC)} END",
        "ConsumedUnit": f"CASE WHEN {regular} THEN {_or_null(fields.text('usage.unit'))} END",
        "PricingQuantity": f"CASE WHEN {regular} THEN {_or_null(fields.money('usage.amount_in_pricing_units'), DEC)} END",
        "PricingUnit": f"CASE WHEN {regular} THEN {_or_null(fields.text('usage.pricing_unit'))} END",
        "PricingCategory": f"CASE WHEN {regular} THEN CASE WHEN __gcp_cud IS NOT NULL OR __gcp_commitment_fee THEN 'Committed' "
        "ELSE 'Standard' END END",
        "ProviderName": sql_string(PROVIDER),
        "PublisherName": _publisher(fields),
        "InvoiceIssuerName": sql_string(PROVIDER),
        "RegionId": fields.text("location.region"),
        "AvailabilityZone": fields.text("location.zone"),
        "ResourceId": fields.text("resource.global_name"),
        "ResourceName": fields.text("resource.name"),
        "ResourceType": _resource_type(fields.text("resource.global_name")),
        "ServiceName": service_name,
        **_service_columns(service_name),
        "SkuId": fields.text("sku.id"),
        "Tags": f"CASE WHEN len(__gcp_tags) > 0 THEN map_from_entries({tags}) END",
        schema.TAG_ORIGINS: f"CASE WHEN len(__gcp_tags) > 0 THEN map_from_entries({origins}) END",
        schema.EXCHANGE_RATE: fields.money("currency_conversion_rate"),
        schema.BILLED_COST_USD: f"CASE WHEN {currency} = 'USD' THEN {net} END",
        schema.EFFECTIVE_COST_USD: f"CASE WHEN {currency} = 'USD' THEN {net} END",
        schema.EXTENSIONS: _extensions(fields),
    }
    return {name: expression for name, expression in columns.items() if expression is not None}


def _publisher(fields: Fields) -> str:
    """Marketplace rows name their seller; Google's own rows name Google."""
    seller = fields.text("seller_name")
    if seller is None:
        return sql_string(PROVIDER)
    transaction = _or_null(fields.text("transaction_type"))
    return f"CASE WHEN {transaction} LIKE 'THIRD_PARTY%' AND {seller} IS NOT NULL THEN {seller} ELSE {sql_string(PROVIDER)} END"


def _resource_type(global_name: str | None) -> str | None:
    """`//compute.googleapis.com/projects/p/zones/z/instances/web-1` -> `compute.googleapis.com/instances`:
    the API that owns the resource and the collection it sits in."""
    if global_name is None:
        return None
    pattern = "'^//([^/]+)/(?:.*/)?([^/]+)/[^/]+$'"
    return f"CASE WHEN regexp_matches({global_name}, {pattern}) THEN regexp_replace({global_name}, {pattern}, '\\1/\\2') END"
