"""Confluent Cloud: daily cost lines from the Billing API (`GET /billing/v1/costs`), one calendar month per request.

The API takes windows of at most one month that start at most a year back, so a sync asks month by month and
skips (with a warning) any month it could only read in part: a partial month would replace a complete stored one.
Windows end today (exclusive): Confluent aggregates daily and lags up to 72 h, so nothing later exists yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pyarrow as pa

from costlake.credentials import Secret
from costlake.formats.vendors.connector import Connector, VendorContext, base_url_from
from costlake.formats.vendors.http import VendorClient, VendorError
from costlake.formats.vendors.paginators import NextLinkPaginator
from costlake.formats.vendors.rows import money, rows_to_batches, seller
from costlake.months import MonthRange, add_months

COSTS_PATH = "/billing/v1/costs"
# The spec allows up to 10000 but also declares x-max-page-items 500: ask for what it will surely serve.
PAGE_SIZE = 500
HISTORY = timedelta(days=365)  # "the start date can be up to one year back"
NAME = "Confluent"
DEFAULT_ACCOUNT = "confluent-organization"
PROMO_CREDIT = "PROMO_CREDIT"

# product -> (ServiceName, ServiceCategory, ServiceSubcategory); the product enum is extensible.
SERVICES: dict[str, tuple[str, str, str]] = {
    "KAFKA": ("Confluent Kafka", "Integration", "Messaging"),
    "CLUSTER_LINK": ("Confluent Cluster Linking", "Integration", "Messaging"),
    "CONNECT": ("Confluent Connect", "Integration", "Other (Integration)"),
    "KSQL": ("Confluent ksqlDB", "Analytics", "Streaming Analytics"),
    "FLINK": ("Confluent Flink", "Analytics", "Streaming Analytics"),
    "STREAM_GOVERNANCE": ("Confluent Stream Governance", "Management and Governance", "Data Governance"),
    "AUDIT_LOG": ("Confluent Audit Log", "Management and Governance", "Compliance"),
}
SUPPORT = ("Confluent Support", "Management and Governance", "Support")
OTHER = ("Other", "Other (Other)")
# Resource id prefix -> ResourceType (the spec's Resource description lists these four).
RESOURCE_TYPES = {"lkc": "Kafka Cluster", "lcc": "Connector", "lsrc": "Schema Registry", "lksqlc": "ksqlDB Cluster"}

# "<unit>-<time unit>" in FOCUS Unit Format takes the plural time unit ("GB-Hours"); Confluent's spec shows no list.
_PER_TIME = re.compile(r"^(?P<unit>.+)-(?P<time>year|month|day|hour|minute|second)s?$", re.IGNORECASE)


def focus_unit(unit: str | None) -> str | None:
    """Confluent's unit, with a singular time unit after a dash made plural ("CKU-Hour" -> "CKU-Hours")."""
    match = _PER_TIME.match(unit or "")
    return f"{match['unit']}-{match['time'].capitalize()}s" if match else unit or None


def _service(product: str | None) -> tuple[str, str, str]:
    if not product:
        return (NAME, *OTHER)
    if product.startswith("SUPPORT"):
        return SUPPORT
    return SERVICES.get(product) or (f"Confluent {product}", *OTHER)


def _auth(secret: Secret) -> httpx.Auth:
    # Cloud API key id as the user name, its secret as the password.
    return httpx.BasicAuth(secret["api_key"], secret["api_secret"])


def _first_month_in_reach(today: date) -> date:
    """The first calendar month the API serves whole (its start at most a year back)."""
    earliest = today - HISTORY
    return earliest if earliest.day == 1 else date.fromisoformat(add_months(f"{earliest:%Y-%m}", 1) + "-01")


def windows(months: MonthRange, now: datetime, warn: Callable[[str], None]) -> Iterator[tuple[date, date]]:
    """[start, end) windows of one calendar month each, from the first month asked for up to today."""
    today = now.astimezone(UTC).date()
    reach = _first_month_in_reach(today)
    start = date.fromisoformat(f"{months.first}-01") if months.first else reach
    if start < reach:
        warn(f"Confluent keeps costs for one year: months before {reach:%Y-%m} were not read (rows stored for them are kept)")
        start = reach
    stop = today
    if months.last:
        stop = min(stop, date.fromisoformat(add_months(months.last, 1) + "-01"))
    while start < stop:
        following = date.fromisoformat(add_months(f"{start:%Y-%m}", 1) + "-01")
        yield start, min(following, stop)
        start = following


def _items(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise VendorError(f"confluent answered {COSTS_PATH} without a 'data' list; the Billing API may have changed, report this")
    return [item for item in data if isinstance(item, dict)]


def costs(client: VendorClient, start: date, end: date) -> Iterator[dict[str, Any]]:
    """Every cost line of [start, end), following `metadata.next` (a full URL) page by page."""
    params = {"start_date": start.isoformat(), "end_date": end.isoformat(), "page_size": PAGE_SIZE}
    for page in client.pages(COSTS_PATH, NextLinkPaginator("metadata.next"), params=params):
        yield from _items(page)


def _day(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value[:10]), time(), tzinfo=UTC)


def row(item: dict[str, Any], account_id: str) -> dict[str, Any]:
    """One FOCUS row from one cost line."""
    start, end = _day(item["start_date"]), _day(item["end_date"])
    listed = money(item["original_amount"])
    amount = item.get("amount")
    billed = money(amount) if amount is not None else listed - money(item.get("discount_amount") or 0)
    line_type = item.get("line_type")
    credit = line_type == PROMO_CREDIT
    if credit:  # the sign of a credit line is not documented: a credit always lowers the bill
        billed, listed = -abs(billed), -abs(listed)
    product = item.get("product")
    service, category, subcategory = _service(product)
    resource = item.get("resource") or {}
    resource_id = resource.get("id")
    environment = resource.get("environment") or {}
    quantity = None if credit or item.get("quantity") is None else money(item["quantity"])
    unit = focus_unit(item.get("unit"))
    month_start = start.replace(day=1)
    extensions = {
        "x_Product": product,
        "x_NetworkAccessType": item.get("network_access_type"),
        "x_DiscountAmount": None if item.get("discount_amount") is None else str(money(item["discount_amount"])),
        "x_CostLineId": item.get("id"),
    }
    return {
        "BillingAccountId": account_id,
        "BillingAccountType": "Organization",
        "BillingCurrency": "USD",
        "BillingPeriodStart": month_start,
        "BillingPeriodEnd": _day(add_months(f"{month_start:%Y-%m}", 1) + "-01"),
        "ChargePeriodStart": start,
        "ChargePeriodEnd": end,
        "ChargeCategory": "Credit" if credit else "Usage",
        "ChargeFrequency": "Usage-Based",
        "ChargeDescription": " - ".join(part for part in (line_type, item.get("description")) if part) or service,
        "BilledCost": billed,
        "EffectiveCost": billed,
        "ContractedCost": billed,
        "ListCost": listed,
        "ListUnitPrice": None if credit or item.get("price") is None else money(item["price"]),
        "ConsumedQuantity": quantity,
        "ConsumedUnit": None if credit else unit,
        "PricingQuantity": quantity,
        "PricingUnit": None if credit else unit,
        **seller(NAME),
        "ServiceName": service,
        "ServiceCategory": category,
        "ServiceSubcategory": subcategory,
        "SkuId": line_type,
        "SkuMeter": line_type,
        "ResourceId": resource_id,
        "ResourceName": resource.get("display_name") or resource_id,
        "ResourceType": RESOURCE_TYPES.get(resource_id.split("-")[0]) if resource_id else None,
        "SubAccountId": environment.get("id"),
        "SubAccountType": "Environment" if environment.get("id") else None,
        "x_Extensions": {key: value for key, value in extensions.items() if value is not None},
    }


def _lines(context: VendorContext, months: MonthRange) -> Iterator[dict[str, Any]]:
    account_id = context.organization_id or DEFAULT_ACCOUNT
    for start, end in windows(months, context.now, context.warn):
        for item in costs(context.client, start, end):
            # Only lines starting inside the window: a line can never land in two windows (no double count).
            if start <= date.fromisoformat(item["start_date"][:10]) < end:
                yield row(item, account_id)


def read(context: VendorContext, months: MonthRange) -> Iterator[pa.RecordBatch]:
    return rows_to_batches(_lines(context, months), months)


def check(context: VendorContext) -> None:
    """One small call: a single day, a few days back (past Confluent's data lag), one line per page."""
    day = context.now.astimezone(UTC).date() - timedelta(days=4)
    context.client.get(COSTS_PATH, params={"start_date": day.isoformat(), "end_date": (day + timedelta(days=1)).isoformat(), "page_size": 1})


CONFLUENT = Connector(
    name="confluent",
    label="Confluent Cloud",
    docs="docs/connectors/confluent.md",
    source_uri="confluent://organization",
    base_url=base_url_from("confluent_base_url"),
    auth=_auth,
    check=check,
    read=read,
    credential_parts=("api_key", "api_secret"),
    credential_hint="the Confluent Cloud API key (a Cloud resource-management key of an OrganizationAdmin or BillingAdmin)",
    options=("organization_id",),
    history_months=12,
)
