"""Aiven: organization billing from invoices, one FOCUS row per invoice line (plus one Tax row per issued invoice).

Invoices are listed through billing groups (`/v1/billing-group/...`) while those deprecated endpoints answer; once
they are gone (404/410) through the organization (`/v1/organization/{organization_id}/invoices...`), whose shapes
Aiven has not published: both spellings seen in public clients are read. The invoice period decides the billing
month, so the running month's invoice (state estimate/accrual) replaces that month at every sync as it grows.
Lists come back whole (no pagination); money is decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pyarrow as pa

from costlake.credentials import Secret
from costlake.formats.vendors.connector import Connector, VendorContext, base_url_from
from costlake.formats.vendors.http import VendorClient, VendorError
from costlake.formats.vendors.rows import money, month_bounds, rows_to_batches, seller
from costlake.months import MonthRange

BILLING_GROUPS = "/v1/billing-group"
SUNSET = {404, 410}  # what a retired endpoint answers
NAME = "Aiven"
RUNNING = {"estimate", "accrual"}  # the current month's invoice, still growing (no VAT computed yet)

# line_type -> (ChargeCategory, ChargeFrequency)
LINE_TYPES = {
    "service_charge": ("Usage", "Usage-Based"),
    "extra_charge": ("Usage", "Usage-Based"),
    "support_charge": ("Usage", "Recurring"),
    "pro_platform_charge": ("Usage", "Recurring"),
    "commitment_fee": ("Purchase", "Recurring"),
    "credit_consumption": ("Credit", "One-Time"),
    "rounding": ("Adjustment", "One-Time"),
    "multiplier": ("Adjustment", "One-Time"),
}
OTHER_LINE = ("Usage", "One-Time")  # other_event and line types Aiven adds later

# service_type -> (ServiceName, ServiceCategory, ServiceSubcategory)
SERVICES: dict[str, tuple[str, str, str]] = {
    "pg": ("Aiven for PostgreSQL", "Databases", "Relational Databases"),
    "mysql": ("Aiven for MySQL", "Databases", "Relational Databases"),
    "alloydbomni": ("Aiven for AlloyDB Omni", "Databases", "Relational Databases"),
    "cassandra": ("Aiven for Apache Cassandra", "Databases", "NoSQL Databases"),
    "clickhouse": ("Aiven for ClickHouse", "Databases", "Data Warehouses"),
    "redis": ("Aiven for Caching", "Databases", "Caching"),
    "valkey": ("Aiven for Valkey", "Databases", "Caching"),
    "dragonfly": ("Aiven for Dragonfly", "Databases", "Caching"),
    "influxdb": ("Aiven for InfluxDB", "Databases", "Time Series Databases"),
    "m3db": ("Aiven for M3DB", "Databases", "Time Series Databases"),
    "m3aggregator": ("Aiven for M3 Aggregator", "Databases", "Time Series Databases"),
    "kafka": ("Aiven for Apache Kafka", "Integration", "Messaging"),
    "kafka_mirrormaker": ("Aiven for Apache Kafka MirrorMaker 2", "Integration", "Messaging"),
    "kafka_connect": ("Aiven for Apache Kafka Connect", "Integration", "Other (Integration)"),
    "flink": ("Aiven for Apache Flink", "Analytics", "Streaming Analytics"),
    "opensearch": ("Aiven for OpenSearch", "Analytics", "Search"),
    "elasticsearch": ("Aiven for Elasticsearch", "Analytics", "Search"),
    "grafana": ("Aiven for Grafana", "Management and Governance", "Observability"),
    "thanos": ("Aiven for Metrics", "Management and Governance", "Observability"),
}
SUPPORT = ("Aiven Support", "Management and Governance", "Support")
PLATFORM = ("Aiven Platform", "Other", "Other (Other)")  # lines of no service: credits, rounding, tax
# cloud_name prefix ("google-europe-west1") -> the cloud the service runs on
HOSTS = {"aws": "Amazon Web Services", "google": "Google Cloud", "azure": "Microsoft Azure", "do": "DigitalOcean", "upcloud": "UpCloud"}


@dataclass(frozen=True)
class Invoice:
    """An invoice as listed (its billing group's id, name and currency filled in where it leaves them out), and
    where its lines are, in the order to try (the billing-group path first while it answers)."""

    fields: dict[str, Any]
    line_paths: tuple[str, ...]

    @property
    def number(self) -> str:
        return _number(self.fields)

    @property
    def state(self) -> str | None:
        return _field(self.fields, "state", "status")

    @property
    def period(self) -> tuple[datetime, datetime]:
        start = _instant(self.fields.get("period_begin"))
        end = self.fields.get("period_end")
        return start, _exclusive(_instant(end)) if end else month_bounds(start)[1]


def _field(record: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` the record fills: billing-group and organization payloads spell fields differently."""
    return next((record[name] for name in names if record.get(name) not in (None, "")), None)


def _number(fields: Mapping[str, Any]) -> str:
    number = _field(fields, "invoice_number", "invoice_id")
    if number is None:
        raise VendorError("aiven listed an invoice without invoice_number; the API may have changed, report this")
    return str(number)


def _instant(text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise VendorError(f"aiven sent {text!r} where an ISO 8601 time was expected; the API may have changed, report this") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _exclusive(end: datetime) -> datetime:
    """FOCUS ends are exclusive; Aiven writes an invoice's end as its last second (…T23:59:59Z)."""
    if end.second or end.microsecond:
        return end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return end


def _auth(secret: Secret) -> dict[str, str]:
    return {"Authorization": f"aivenv1 {secret.value}"}


def _list(client: VendorClient, path: str, key: str) -> list[dict[str, Any]]:
    body = client.get(path)
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise VendorError(f"aiven answered GET {path} without a '{key}' list; the API may have changed, report this")
    return [item for item in items if isinstance(item, dict)]


def _organization_path(context: VendorContext, suffix: str) -> str:
    organization = context.organization_id
    if not organization:
        raise VendorError(
            "aiven no longer answers the billing-group endpoints (retired); set the source option organization_id "
            "(Aiven Console > Admin > Organization, e.g. org4f6a3b2c1d0) so the organization's invoices are read"
        )
    return f"/v1/organization/{quote(organization, safe='')}/invoices{suffix}"


def _billing_groups(context: VendorContext) -> list[dict[str, Any]] | None:
    """The billing groups, or None once the deprecated endpoint is retired."""
    try:
        return _list(context.client, BILLING_GROUPS, "billing_groups")
    except VendorError as error:
        if error.status in SUNSET:
            return None
        raise


def invoices(context: VendorContext) -> list[Invoice]:
    """Every invoice of the organization, through its billing groups while those endpoints answer."""
    groups = _billing_groups(context)
    if groups is None:
        listed = _list(context.client, _organization_path(context, ""), "invoices")
        return [Invoice(fields, (_organization_path(context, f"/{quote(_number(fields), safe='')}/lines"),)) for fields in listed]
    found = []
    for group in groups:
        group_path = f"{BILLING_GROUPS}/{quote(str(group['billing_group_id']), safe='')}/invoice"
        defaults = {"billing_group_id": group["billing_group_id"], "billing_group_name": group.get("billing_group_name"),
                    "currency": group.get("billing_currency")}
        for invoice in _list(context.client, group_path, "invoices"):
            fields = {**defaults, **{key: value for key, value in invoice.items() if value is not None}}
            number = quote(_number(fields), safe="")
            fallback = (_organization_path(context, f"/{number}/lines"),) if context.organization_id else ()
            found.append(Invoice(fields, (f"{group_path}/{number}/lines", *fallback)))
    return found


def lines(client: VendorClient, invoice: Invoice) -> list[dict[str, Any]]:
    """The invoice's lines from the first of its paths that is not retired."""
    *earlier, last = invoice.line_paths
    for path in earlier:
        try:
            return _list(client, path, "lines")
        except VendorError as error:
            if error.status not in SUNSET:
                raise
    return _list(client, last, "lines")


def _service(line: Mapping[str, Any]) -> tuple[str, str, str]:
    service_type = line.get("service_type")
    if service_type:
        return SERVICES.get(service_type) or (f"Aiven for {service_type}", "Other", "Other (Other)")
    return SUPPORT if line.get("line_type") == "support_charge" else PLATFORM


def _common(invoice: Invoice, organization_id: str | None) -> dict[str, Any]:
    """The columns every row of one invoice shares."""
    start, end = invoice.period
    return {
        "BillingAccountId": invoice.fields.get("billing_group_id") or organization_id,
        "BillingAccountName": invoice.fields.get("billing_group_name"),
        "BillingAccountType": "Billing Group" if invoice.fields.get("billing_group_id") else "Organization",
        "BillingPeriodStart": start,
        "BillingPeriodEnd": end,
        "ChargePeriodStart": start,
        "ChargePeriodEnd": end,
        "InvoiceId": invoice.number,
        **seller(NAME),
    }


def row(line: Mapping[str, Any], invoice: Invoice, organization_id: str | None = None) -> dict[str, Any]:
    """One FOCUS row from one invoice line: the local total in the local currency, else the USD total."""
    local, usd = _field(line, "line_total_local", "total"), _field(line, "line_total_usd", "total_usd")
    if local is not None:
        billed = money(local)
        currency = _field(line, "local_currency", "currency") or invoice.fields.get("currency")
        pre_discount = line.get("line_pre_discount_local")
        listed = billed if pre_discount in (None, "") else money(pre_discount)
    elif usd is not None:
        billed = listed = money(usd)
        currency = "USD"
    else:
        raise VendorError(f"aiven invoice {invoice.number} has a line with neither line_total_local nor line_total_usd; report this")
    line_type = line.get("line_type")
    category, frequency = LINE_TYPES.get(line_type or "", OTHER_LINE)
    service, service_category, subcategory = _service(line)
    project, service_name = _field(line, "project_name", "project_id"), _field(line, "service_name", "service_id")
    plan, cloud = _field(line, "service_plan", "plan"), _field(line, "cloud_name", "cloud")
    begin, end = _field(line, "timestamp_begin", "begin_time"), _field(line, "timestamp_end", "end_time")
    common = _common(invoice, organization_id)
    extensions = {"x_LineType": line_type, "x_InvoiceState": invoice.state, "x_CommitmentName": line.get("commitment_name")}
    return {
        **common,
        "BillingCurrency": currency,
        "ChargePeriodStart": _instant(begin) if begin else common["ChargePeriodStart"],
        "ChargePeriodEnd": _exclusive(_instant(end)) if end else common["ChargePeriodEnd"],
        "ChargeCategory": category,
        "ChargeFrequency": frequency,
        "ChargeDescription": line.get("description"),
        "BilledCost": billed,
        "EffectiveCost": billed,
        "ContractedCost": billed,
        "ListCost": listed,
        "x_BilledCostInUsd": None if usd is None else money(usd),
        "x_EffectiveCostInUsd": None if usd is None else money(usd),
        "ServiceName": service,
        "ServiceCategory": service_category,
        "ServiceSubcategory": subcategory,
        "SkuId": ":".join(part for part in (line.get("service_type"), plan) if part) if plan else None,
        "ResourceId": f"{project}/{service_name}" if project and service_name else None,
        "ResourceName": service_name,
        "ResourceType": line.get("service_type") if service_name else None,
        "RegionId": cloud,
        "RegionName": cloud.partition("-")[2] or cloud if cloud else None,
        "HostProviderName": HOSTS.get(cloud.partition("-")[0]) if cloud else None,
        "SubAccountId": project,
        "SubAccountName": project,
        "SubAccountType": "Project" if project else None,
        "Tags": line.get("tags") or None,
        "x_Extensions": {key: value for key, value in extensions.items() if value is not None},
    }


def tax_row(invoice: Invoice, organization_id: str | None = None) -> dict[str, Any] | None:
    """The VAT of an issued invoice (total_inc_vat - total_vat_zero), which no line carries; None when there is none."""
    including, excluding = invoice.fields.get("total_inc_vat"), invoice.fields.get("total_vat_zero")
    if invoice.state in RUNNING or including in (None, "") or excluding in (None, ""):
        return None
    tax = money(including) - money(excluding)
    if tax <= 0:
        return None
    service, category, subcategory = PLATFORM
    return {
        **_common(invoice, organization_id),
        "BillingCurrency": invoice.fields.get("currency"),
        "ChargeCategory": "Tax",
        "ChargeFrequency": "One-Time",
        "ChargeDescription": f"VAT on invoice {invoice.number}",
        "BilledCost": tax,
        "EffectiveCost": tax,
        "ContractedCost": tax,
        "ListCost": tax,
        "ServiceName": service,
        "ServiceCategory": category,
        "ServiceSubcategory": subcategory,
        "x_Extensions": {"x_InvoiceState": invoice.state} if invoice.state else {},
    }


def _cross_check(context: VendorContext, invoice: Invoice, rows: list[dict[str, Any]]) -> None:
    """Warn when an issued invoice's lines do not add up to its total without VAT (a line may be missing)."""
    stated, currency = invoice.fields.get("total_vat_zero"), invoice.fields.get("currency")
    if invoice.state in RUNNING or stated in (None, "") or any(row["BillingCurrency"] != currency for row in rows):
        return
    summed = sum((row["BilledCost"] for row in rows), Decimal(0))
    if summed != money(stated):
        context.warn(
            f"aiven invoice {invoice.number} ({invoice.period[0]:%Y-%m}): its lines add up to {summed} {currency} but the "
            f"invoice states {stated} {currency} before VAT; check the invoice in the Aiven Console"
        )


def _rows(context: VendorContext, months: MonthRange) -> Iterator[dict[str, Any]]:
    organization_id = context.organization_id
    for invoice in sorted(invoices(context), key=lambda invoice: (invoice.period[0], invoice.number)):
        month = f"{invoice.period[0]:%Y-%m}"
        if (months.first and month < months.first) or (months.last and month > months.last):
            continue  # its lines are not fetched at all
        rows = [row(line, invoice, organization_id) for line in lines(context.client, invoice)]
        _cross_check(context, invoice, rows)
        tax = tax_row(invoice, organization_id)
        yield from [*rows, tax] if tax else rows


def read(context: VendorContext, months: MonthRange) -> Iterator[pa.RecordBatch]:
    return rows_to_batches(_rows(context, months), months)


def check(context: VendorContext) -> None:
    """One cheap call: the billing-group list; once that is retired, the organization's invoice list."""
    if _billing_groups(context) is None:
        _list(context.client, _organization_path(context, ""), "invoices")


AIVEN = Connector(
    name="aiven",
    label="Aiven",
    docs="docs/connectors/aiven.md",
    source_uri="aiven://organization",
    base_url=base_url_from("aiven_base_url"),
    auth=_auth,
    check=check,
    read=read,
    credential_parts=("token",),
    credential_hint="the Aiven token (a personal or application token of a user with billing access to the organization)",
    options=("organization_id",),
    history_months=120,  # Aiven keeps every invoice; the engine's backfill limit still applies
)
