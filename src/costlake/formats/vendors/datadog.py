"""Datadog: what the account is charged, from the usage-metering cost endpoints (API v2).

Months Datadog has closed come from `/historical_cost` (one figure per month; a month arrives by the 16th of the
next). The months it has not closed yet (the current and the previous one) come from `/estimated_cost` in daily
mode, whose figures are month-to-date running totals: they are differenced into daily amounts. Each product
carries `committed`, `on_demand` *and* `total` charges; only the parts are kept (a product's `total` only when it
has no parts), so nothing is counted twice. The payload names no currency: Datadog bills in USD (assumed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from costlake.credentials import Secret
from costlake.errors import InvalidInput
from costlake.formats.vendors.connector import Connector, VendorContext
from costlake.formats.vendors.http import VendorError
from costlake.formats.vendors.rows import money, month_bounds, rows_to_batches, seller
from costlake.months import MonthRange
from costlake.settings import Settings

HISTORICAL = "/api/v2/usage/historical_cost"
ESTIMATED = "/api/v2/usage/estimated_cost"
# What Datadog's own clients send; it fixes the date format of the answer to RFC 3339.
ACCEPT = {"Accept": "application/json;datetime-format=rfc3339"}
HISTORY_MONTHS = 15  # Datadog keeps usage and cost data for 15 months
# Site name (as in Datadog's docs) -> site domain; the API host is "api." + the domain.
SITES = {
    "us1": "datadoghq.com",
    "us3": "us3.datadoghq.com",
    "us5": "us5.datadoghq.com",
    "eu": "datadoghq.eu",
    "ap1": "ap1.datadoghq.com",
    "ap2": "ap2.datadoghq.com",
    "uk1": "uk1.datadoghq.com",
    "gov": "ddog-gov.com",
    "us2-gov": "us2.ddog-gov.com",
}
VIEWS = ("summary", "sub-org")
TOTAL = "total"
PRICING_CATEGORY = {"committed": "Committed", "on_demand": "Standard"}
NAME = "Datadog"
CENT = Decimal("0.01")


def _site_domain(options: Mapping[str, str]) -> str:
    """The site's domain, from a site name ("us5") or a domain as in DD_SITE ("us5.datadoghq.com")."""
    site = options.get("site", "us1").strip().lower().removeprefix("app.")
    if site in SITES:
        return SITES[site]
    if site in SITES.values():
        return site
    raise InvalidInput("options", f"unknown Datadog site {site!r}; use one of {', '.join(SITES)} (or its domain, e.g. us5.datadoghq.com)")


def _check_options(options: Mapping[str, str]) -> None:
    _site_domain(options)
    if options.get("view", "summary") not in VIEWS:
        raise InvalidInput(
            "options", f"unknown Datadog view {options['view']!r}; use summary (the account as a whole) or sub-org (split by organization)"
        )


def _base_url(settings: Settings, options: Mapping[str, str]) -> str:
    return settings.datadog_base_url or f"https://api.{_site_domain(options)}"


def _auth(secret: Secret) -> dict[str, str]:
    return {"DD-API-KEY": secret["api_key"], "DD-APPLICATION-KEY": secret["app_key"]}


def _view(context: VendorContext) -> str:
    return context.options.get("view", "summary")


def _add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1)


def _month(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)


def _check(context: VendorContext) -> None:
    """The current month's estimate: needs both keys, usage_read + billing_read, and the parent organization."""
    current, _ = month_bounds(context.now)
    context.client.get(ESTIMATED, {"view": _view(context), "start_month": current.strftime("%Y-%m")}, headers=ACCEPT)


def _items(body: Any, path: str) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise VendorError(f"datadog answered GET {path} without a 'data' list; the API may have changed, report this to costlake")
    return [item["attributes"] for item in data if isinstance(item, dict) and isinstance(item.get("attributes"), dict)]


def _date(attributes: Mapping[str, Any]) -> datetime:
    text = attributes.get("date")
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise VendorError(f"datadog sent a cost dated {text!r}, which is not an ISO 8601 date; report this to costlake") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _charges(attributes: Mapping[str, Any]) -> list[tuple[str, str, Decimal]]:
    """(product, charge type, cost) to keep: each product's parts without its `total`, which repeats their sum;
    the `total` alone for a product that reports no parts."""
    by_product: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for charge in attributes.get("charges") or []:
        if isinstance(charge, dict) and charge.get("cost") is not None:
            product = str(charge.get("product_name") or "unknown")
            by_product[product].append((str(charge.get("charge_type") or "unknown"), money(charge["cost"])))
    kept = []
    for product, charges in by_product.items():
        parts = [charge for charge in charges if charge[0] != TOTAL]
        kept += [(product, charge_type, cost) for charge_type, cost in parts or charges]
    return kept


def _disagreement(attributes: Mapping[str, Any], charges: list[tuple[str, str, Decimal]]) -> str | None:
    """Where the kept charges do not add up to Datadog's own total_cost (a sign of a changed payload)."""
    total = attributes.get("total_cost")
    kept = sum((cost for _, _, cost in charges), Decimal(0))
    if total is None or abs(kept - money(total)) < CENT:
        return None
    return f"{attributes.get('org_name') or attributes.get('public_id')} on {attributes.get('date')}: charges {kept} vs total_cost {total}"


def _row(attributes: Mapping[str, Any], charge: tuple[str, str, Decimal], start: datetime, end: datetime, basis: str, view: str) -> dict[str, Any]:
    product, charge_type, cost = charge
    billing_start, billing_end = month_bounds(start)
    by_org = view == "sub-org"
    extensions = {"x_ChargeType": charge_type, "x_CostBasis": basis, "x_DatadogRegion": attributes.get("region")}
    return {
        "BillingAccountId": attributes.get("account_public_id") or attributes.get("public_id"),
        "BillingAccountName": attributes.get("account_name") or attributes.get("org_name"),
        "SubAccountId": attributes.get("public_id") if by_org else None,
        "SubAccountName": attributes.get("org_name") if by_org else None,
        "BillingCurrency": "USD",
        "BillingPeriodStart": billing_start,
        "BillingPeriodEnd": billing_end,
        "ChargePeriodStart": start,
        "ChargePeriodEnd": end,
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Recurring" if charge_type == "committed" else "Usage-Based",
        "ChargeDescription": f"Datadog {product}: {charge_type.replace('_', '-')} charges, {basis} cost",
        "PricingCategory": PRICING_CATEGORY.get(charge_type, None if charge_type == TOTAL else "Other"),
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ListCost": cost,
        "ContractedCost": cost,
        "x_BilledCostInUsd": cost,
        "x_EffectiveCostInUsd": cost,
        "x_ExchangeRateUsdToBilling": Decimal(1),
        **seller(NAME),
        "ServiceName": product,
        "ServiceCategory": "Management and Governance",
        "ServiceSubcategory": "Observability",
        "SkuId": product,
        "x_Extensions": {key: value for key, value in extensions.items() if value is not None},
    }


def _historical(context: VendorContext, first: datetime, last: datetime, closed: set[datetime], odd: list[str]) -> Iterator[dict[str, Any]]:
    """Monthly rows of the closed months in [first, last]; adds each month it returns to `closed`."""
    view = _view(context)
    params = {"view": view, "start_month": first.strftime("%Y-%m"), "end_month": last.strftime("%Y-%m")}
    for attributes in _items(context.client.get(HISTORICAL, params, headers=ACCEPT), HISTORICAL):
        start, end = month_bounds(_date(attributes))
        if not first <= start <= last:
            continue
        closed.add(start)
        charges = _charges(attributes)
        if problem := _disagreement(attributes, charges):
            odd.append(problem)
        yield from (_row(attributes, charge, start, end, "historical", view) for charge in charges if charge[2])


def _estimated(context: VendorContext, month: datetime, odd: list[str]) -> Iterator[dict[str, Any]]:
    """Daily rows of one open month: its running totals, differenced per organization, product and charge type.
    The request ends on the next month's first day (or today) so that the last day is in whether Datadog reads
    end_date as inclusive or not; a day outside the month is dropped."""
    view = _view(context)
    today = context.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    _, month_end = month_bounds(month)
    params = {"view": view, "start_date": month.strftime("%Y-%m-%d"), "end_date": min(month_end, today).strftime("%Y-%m-%d")}
    days = [(_date(attributes), attributes) for attributes in _items(context.client.get(ESTIMATED, params, headers=ACCEPT), ESTIMATED)]
    running: dict[tuple[Any, str, str], Decimal] = {}
    for moment, attributes in sorted(days, key=lambda day: day[0]):
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if not month <= day < month_end:
            continue
        charges = _charges(attributes)
        if problem := _disagreement(attributes, charges):
            odd.append(problem)
        for product, charge_type, to_date in charges:
            key = (attributes.get("public_id"), product, charge_type)
            amount = to_date - running.get(key, Decimal(0))
            running[key] = to_date
            if amount:
                yield _row(attributes, (product, charge_type, amount), day, day + timedelta(days=1), "estimated", view)


def _rows(context: VendorContext, months: MonthRange) -> Iterator[dict[str, Any]]:
    current, _ = month_bounds(context.now)
    previous = _add_months(current, -1)
    earliest = _add_months(current, 1 - HISTORY_MONTHS)
    first = max(_month(months.first), earliest) if months.first else earliest
    last = min(_month(months.last), current) if months.last else current
    closed: set[datetime] = set()
    odd: list[str] = []
    if first <= min(previous, last):
        yield from _historical(context, first, min(previous, last), closed, odd)
    for month in (previous, current):
        if first <= month <= last and month not in closed:
            yield from _estimated(context, month, odd)
    if odd:
        context.warn(
            f"datadog: for {len(odd)} organization-period(s) the product charges do not add up to Datadog's total_cost (first: {odd[0]}); "
            "costlake kept the per-product charges; compare with Plan & Usage in Datadog"
        )


def _read(context: VendorContext, months: MonthRange) -> Iterator[pa.RecordBatch]:
    return rows_to_batches(_rows(context, months), months)


DATADOG = Connector(
    name="datadog",
    label="Datadog",
    docs="docs/connectors/datadog.md",
    source_uri="datadog://account",
    base_url=_base_url,
    auth=_auth,
    check=_check,
    read=_read,
    credential_parts=("api_key", "app_key"),
    credential_hint="the API key and application key (from the parent organization, with usage_read and billing_read)",
    options=("site", "view"),
    check_options=_check_options,
    history_months=HISTORY_MONTHS,
)
