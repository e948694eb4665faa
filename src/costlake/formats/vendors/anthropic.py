"""Anthropic (Claude API) costs from the Admin API: the daily cost report, with token counts from the usage report.

Two reports because neither is enough alone: `cost_report` has the money (per day, workspace and line description,
which carries model, token type, service tier and context window) but no quantities; `usage_report/messages` has
the token counts but no money. Rows come from the cost report only, so costs are never counted twice; a token row
takes its ConsumedQuantity from the usage result of the same day, workspace, model, tier and context window.
Mapping and assumptions: docs/connectors/anthropic.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from costlake.credentials.secret import CredentialError, Secret
from costlake.formats.vendors.connector import Connector, VendorContext, base_url_from
from costlake.formats.vendors.http import VendorClient, VendorError
from costlake.formats.vendors.paginators import CursorPaginator
from costlake.formats.vendors.rows import month_bounds, rows_to_batches, seller
from costlake.months import MonthRange

PROVIDER = "anthropic"
VENDOR = "Anthropic"
API_VERSION = "2023-06-01"
COST_REPORT = "/v1/organizations/cost_report"
USAGE_REPORT = "/v1/organizations/usage_report/messages"
ORGANIZATION = "/v1/organizations/me"
WORKSPACES = "/v1/organizations/workspaces"
MAX_BUCKETS = 31  # the documented maximum of daily buckets per page, in both reports
HISTORY_MONTHS = 12
COST_GROUPS = ("workspace_id", "description")
USAGE_GROUPS = ("workspace_id", "model", "service_tier", "context_window")
# The API reports the default workspace as null; FOCUS wants a real value.
DEFAULT_WORKSPACE_ID = "default"
DEFAULT_WORKSPACE_NAME = "Default Workspace"
# BillingAccountId when /v1/organizations/me answers 404 and no organization_id option is set.
UNKNOWN_ORGANIZATION = "anthropic-organization"
# Flat spellings of the cache-write counts seen in third-party schemas, mapped to the cost report's token_type.
TOKEN_ALIASES = {
    "cache_creation_1h_input_tokens": "cache_creation.ephemeral_1h_input_tokens",
    "cache_creation_5m_input_tokens": "cache_creation.ephemeral_5m_input_tokens",
    "ephemeral_1h_input_tokens": "cache_creation.ephemeral_1h_input_tokens",
    "ephemeral_5m_input_tokens": "cache_creation.ephemeral_5m_input_tokens",
}
WEB_SEARCH_REQUESTS = "server_tool_use.web_search_requests"
# Cost-report dimensions kept in x_Extensions, by their column there.
EXTENSIONS = {"cost_type": "x_CostType", "model": "x_Model", "token_type": "x_TokenType", "service_tier": "x_ServiceTier",
              "context_window": "x_ContextWindow", "inference_geo": "x_InferenceGeo", "speed": "x_Speed"}


def _auth(secret: Secret) -> dict[str, str]:
    key = secret.value
    if key.startswith("sk-ant-api"):
        raise CredentialError(
            "this is a Claude API key (sk-ant-api...); the cost and usage reports need an Admin API key (sk-ant-admin...), "
            "which an organization admin creates in the Claude Console under Settings > Admin keys"
        )
    return {"x-api-key": key, "anthropic-version": API_VERSION}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise VendorError(f"{PROVIDER} sent {what} {text!r}, not an RFC 3339 time; report it, the API may have changed") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def _check(context: VendorContext) -> None:
    """One cheap call to the endpoint a sync reads: today's single, ungrouped cost bucket."""
    context.client.get(COST_REPORT, {"starting_at": _stamp(_day_start(context.now)), "bucket_width": "1d", "limit": 1})


@dataclass(frozen=True)
class _Account:
    id: str
    name: str | None
    workspaces: dict[str, str]  # workspace id -> name


def _organization(context: VendorContext) -> tuple[str, str | None]:
    """The organization of the key; the option organization_id wins (and skips the call)."""
    if context.organization_id:
        return context.organization_id, None
    try:
        organization = context.client.get(ORGANIZATION)
    except VendorError as error:
        if error.status != 404:
            raise
        context.warn(
            f"{PROVIDER}: GET {ORGANIZATION} answered 404, so rows carry BillingAccountId {UNKNOWN_ORGANIZATION!r}; "
            "set the source option organization_id to the organization's id (Claude Console > Settings > Organization)"
        )
        return UNKNOWN_ORGANIZATION, None
    return str(organization["id"]), organization.get("name")


def _workspace_names(client: VendorClient) -> dict[str, str]:
    """Names of every workspace, archived ones too: old costs can belong to them. Only labels: a page that has
    more but no last_id ends the list rather than the sync."""
    paginator = CursorPaginator("last_id", "after_id", lenient=True)
    items = (item for page in client.pages(WORKSPACES, paginator, params={"include_archived": "true", "limit": 1000})
             for item in page.get("data") or [])
    return {str(item["id"]): str(item["name"]) for item in items if item.get("id") and item.get("name")}


def _buckets(client: VendorClient, path: str, start: datetime, end: datetime, group_by: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Every daily bucket of a report in [start, end), following next_page (an opaque token) while has_more."""
    params = [("starting_at", _stamp(start)), ("ending_at", _stamp(end)), ("bucket_width", "1d"), ("limit", str(MAX_BUCKETS))]
    params += [("group_by[]", name) for name in group_by]
    for page in client.pages(path, CursorPaginator("next_page", "page"), params=params):
        yield from page.get("data") or []


def _windows(months: MonthRange, now: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) per calendar month, from the first month to the end of today (UTC): today's bucket is partial
    but real, and ending_at is exclusive."""
    end_of_today = _day_start(now) + timedelta(days=1)
    if months.first:
        start = datetime(int(months.first[:4]), int(months.first[5:7]), 1, tzinfo=UTC)
    else:
        back = now.year * 12 + now.month - HISTORY_MONTHS
        start = datetime(back // 12, back % 12 + 1, 1, tzinfo=UTC)
    while start < end_of_today and (months.last is None or start.strftime("%Y-%m") <= months.last):
        month_end = month_bounds(start)[1]
        yield start, min(month_end, end_of_today)
        start = month_end


def _counts(result: Mapping[str, Any]) -> dict[str, Decimal]:
    """A usage result's numbers by the cost report's token_type names: nested objects become dotted names
    (cache_creation.ephemeral_5m_input_tokens), flat spellings are mapped onto them."""
    counts: dict[str, Decimal] = defaultdict(Decimal)
    flat = [(name, value) for name, value in result.items() if not isinstance(value, dict)]
    flat += [(f"{name}.{inner}", value) for name, nested in result.items() if isinstance(nested, dict) for inner, value in nested.items()]
    for name, value in flat:
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            counts[TOKEN_ALIASES.get(name, name)] += Decimal(value)
    return counts


def _token_type(result: Mapping[str, Any]) -> str | None:
    token_type = result.get("token_type")
    return TOKEN_ALIASES.get(token_type, token_type) if token_type else None


def _join_key(day: datetime, result: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What a cost result's quantity is looked up by; None for costs the usage report does not count."""
    cost_type, workspace, token_type = result.get("cost_type"), result.get("workspace_id"), _token_type(result)
    if cost_type == "tokens" and token_type:
        return (day, workspace, result.get("model"), result.get("service_tier"), result.get("context_window"), token_type)
    if cost_type == "web_search":
        return (day, workspace, WEB_SEARCH_REQUESTS)
    return None


class _Usage:
    """Usage counts summed by the join keys of cost results: tokens by (day, workspace, model, tier, context window,
    token type); web searches by (day, workspace), since the cost report gives web search no model."""

    def __init__(self, buckets: Iterable[Mapping[str, Any]]) -> None:
        self.counts: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
        for bucket in buckets:
            day = _moment(bucket.get("starting_at"), "a usage bucket's starting_at")
            for result in bucket.get("results") or []:
                workspace = result.get("workspace_id")
                dimensions = (day, workspace, result.get("model"), result.get("service_tier"), result.get("context_window"))
                for name, value in _counts(result).items():
                    self.counts[(*dimensions, name)] += value
                    if name == WEB_SEARCH_REQUESTS:
                        self.counts[(day, workspace, name)] += value

    def quantity(self, key: tuple[Any, ...] | None) -> tuple[Decimal | None, str | None]:
        if key is None or key not in self.counts:
            return None, None
        return self.counts[key], "Requests" if key[-1] == WEB_SEARCH_REQUESTS else "Tokens"


def _cents(result: Mapping[str, Any]) -> Decimal:
    amount = result.get("amount")
    try:
        cents = Decimal(amount) if isinstance(amount, (str, int, Decimal)) and not isinstance(amount, bool) else None
    except InvalidOperation:
        cents = None
    if cents is None or not cents.is_finite():
        raise VendorError(f"{PROVIDER} sent a cost amount {amount!r}, not a decimal string; report it, the API may have changed")
    return cents


def _row(
    start: datetime, end: datetime, result: Mapping[str, Any], account: _Account, quantity: Decimal | None, unit: str | None
) -> dict[str, Any]:
    cost = _cents(result).scaleb(-2)  # amounts are in cents: "123.45" is $1.2345
    currency = result.get("currency") or "USD"
    in_usd = cost if currency == "USD" else None
    workspace = result.get("workspace_id")
    cost_type = result.get("cost_type")
    meter = _token_type(result) or cost_type
    # Every dimension that changes the price: model, what is metered, tier, context window, geography, speed.
    sku = [result.get("model"), meter, *(result.get(name) for name in ("service_tier", "context_window", "inference_geo", "speed"))]
    billing_start, billing_end = month_bounds(start)
    return {
        "BillingAccountId": account.id,
        "BillingAccountName": account.name,
        "BillingAccountType": "Organization",
        "BillingCurrency": currency,
        "BillingPeriodStart": billing_start,
        "BillingPeriodEnd": billing_end,
        "ChargePeriodStart": start,
        "ChargePeriodEnd": end,
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "ChargeDescription": result.get("description") or cost_type,
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ListCost": cost,
        "ContractedCost": cost,
        "PricingCurrency": currency,
        "PricingCurrencyEffectiveCost": cost,
        "ConsumedQuantity": quantity,
        "ConsumedUnit": unit,
        "PricingQuantity": quantity,
        "PricingUnit": unit,
        **seller(VENDOR),
        "ServiceName": "Claude API",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceSubcategory": "Generative AI",
        "SkuId": "|".join(str(part) for part in sku if part) or None,
        "SkuMeter": meter,
        "SubAccountId": workspace or DEFAULT_WORKSPACE_ID,
        "SubAccountName": account.workspaces.get(workspace) if workspace else DEFAULT_WORKSPACE_NAME,
        "SubAccountType": "Workspace",
        "x_Extensions": {column: str(result[name]) for name, column in EXTENSIONS.items() if result.get(name) is not None} or None,
        "x_ExchangeRateUsdToBilling": Decimal(1) if in_usd is not None else None,
        "x_BilledCostInUsd": in_usd,
        "x_EffectiveCostInUsd": in_usd,
    }


def _month_rows(context: VendorContext, account: _Account, start: datetime, end: datetime) -> list[dict[str, Any]]:
    costs = [
        (_moment(bucket.get("starting_at"), "a cost bucket's starting_at"), _moment(bucket.get("ending_at"), "a cost bucket's ending_at"),
         result)
        for bucket in _buckets(context.client, COST_REPORT, start, end, COST_GROUPS)
        for result in bucket.get("results") or []
    ]
    if not costs:
        return []  # no spend: the usage report has nothing to add
    usage = _Usage(_buckets(context.client, USAGE_REPORT, start, end, USAGE_GROUPS))
    keys = [_join_key(day, result) for day, _, result in costs]
    shared = Counter(key for key in keys if key is not None)
    if any(count > 1 for count in shared.values()):
        context.warn(
            f"{PROVIDER}: in {start:%Y-%m} several cost lines share a day, workspace, model, tier, context window and token type "
            "(e.g. split by inference_geo or speed), so their ConsumedQuantity is left empty rather than counted twice"
        )
    return [_row(day, day_end, result, account, *usage.quantity(key if key is not None and shared[key] == 1 else None))
            for (day, day_end, result), key in zip(costs, keys)]


def _read(context: VendorContext, months: MonthRange) -> Iterator[pa.RecordBatch]:
    organization_id, organization_name = _organization(context)
    account = _Account(organization_id, organization_name, _workspace_names(context.client))
    for start, end in _windows(months, context.now):
        yield from rows_to_batches(_month_rows(context, account, start, end), months)


ANTHROPIC = Connector(
    name=PROVIDER,
    label="Anthropic",
    docs="docs/connectors/anthropic.md",
    source_uri="anthropic://organization",
    base_url=base_url_from("anthropic_base_url"),
    auth=_auth,
    check=_check,
    read=_read,
    credential_parts=("api_key",),
    credential_hint="the Admin API key (sk-ant-admin..., Claude Console > Settings > Admin keys)",
    options=("organization_id",),
    history_months=HISTORY_MONTHS,
)
