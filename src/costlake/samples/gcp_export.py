"""Deterministic GCP billing export (standard and detailed tables) with the rows that make conversion hard.

Rows are BigQuery-shaped dicts (nested records, repeated credits/labels/tags) and are written as Parquet the way
a BigQuery extract to GCS writes them (STRUCT and LIST columns, FLOAT as double, NUMERIC as decimal(38,9)), or as
JSON lines. Per invoice month: daily usage with several credit types (sustained use, free tier, promotion larger
than the cost, discount), resource-based and spend-based CUD credits, a CUD commitment fee, a marketplace row,
tax, a rounding error, a correction pair (negation + remonetization) of last month's usage, and late usage whose
UTC time is already in the next month but whose invoice month (Pacific time) is this one. Labels, project labels,
system labels and tags overlap on purpose to exercise the Tags precedence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
PROJECT = {"id": "shop-prod-4821", "number": "734512908812", "name": "shop-prod", "ancestry_numbers": "/81726354/734512908812/"}
COMMITMENT_ID = "5012398745012398745"


@dataclass(frozen=True)
class Field:
    """One field of the export's BigQuery schema."""

    name: str
    type: str  # BigQuery type: STRING, FLOAT, NUMERIC, TIMESTAMP, BOOLEAN, RECORD
    mode: str = "NULLABLE"
    fields: tuple[Field, ...] = ()


def _record(name: str, *fields: Field, mode: str = "NULLABLE") -> Field:
    return Field(name, "RECORD", mode, fields)


def _strings(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name, "STRING") for name in names)


KEY_VALUE = _strings("key", "value")
STANDARD_FIELDS: tuple[Field, ...] = (
    Field("billing_account_id", "STRING"),
    _record("service", *_strings("id", "description")),
    _record("sku", *_strings("id", "description")),
    Field("usage_start_time", "TIMESTAMP"),
    Field("usage_end_time", "TIMESTAMP"),
    _record(
        "project",
        *_strings("id", "number", "name"),
        _record("labels", *KEY_VALUE, mode="REPEATED"),
        Field("ancestry_numbers", "STRING"),
    ),
    _record("labels", *KEY_VALUE, mode="REPEATED"),
    _record("system_labels", *KEY_VALUE, mode="REPEATED"),
    _record("location", *_strings("location", "country", "region", "zone")),
    _record("tags", *KEY_VALUE, Field("inherited", "BOOLEAN"), Field("namespace", "STRING"), mode="REPEATED"),
    Field("transaction_type", "STRING"),
    Field("seller_name", "STRING"),
    Field("export_time", "TIMESTAMP"),
    Field("cost", "FLOAT"),
    Field("currency", "STRING"),
    Field("currency_conversion_rate", "FLOAT"),
    _record("usage", Field("amount", "FLOAT"), Field("unit", "STRING"), Field("amount_in_pricing_units", "FLOAT"), Field("pricing_unit", "STRING")),
    _record("credits", *_strings("name"), Field("amount", "FLOAT"), *_strings("full_name", "id", "type"), mode="REPEATED"),
    _record("invoice", *_strings("month", "publisher_type")),
    Field("cost_type", "STRING"),
    _record("adjustment_info", *_strings("id", "description", "mode", "type")),
    Field("cost_at_list", "FLOAT"),
    _record("price", Field("effective_price", "NUMERIC"), Field("tier_start_amount", "NUMERIC"), Field("unit", "STRING"),
            Field("pricing_unit_quantity", "NUMERIC"), Field("list_price", "NUMERIC")),
)  # fmt: skip
DETAILED_FIELDS: tuple[Field, ...] = (
    *STANDARD_FIELDS,
    _record("resource", *_strings("name", "global_name")),
    _record("subscription", *_strings("instance_id")),
)
_ARROW_TYPES = {
    "STRING": pa.string(),
    "FLOAT": pa.float64(),
    "NUMERIC": pa.decimal128(38, 9),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "BOOLEAN": pa.bool_(),
}


def _arrow_type(field: Field) -> pa.DataType:
    base = pa.struct([_arrow_field(child) for child in field.fields]) if field.type == "RECORD" else _ARROW_TYPES[field.type]
    return pa.list_(base) if field.mode == "REPEATED" else base


def _arrow_field(field: Field) -> pa.Field:
    return pa.field(field.name, _arrow_type(field))


def arrow_schema(detailed: bool) -> pa.Schema:
    return pa.schema([_arrow_field(field) for field in (DETAILED_FIELDS if detailed else STANDARD_FIELDS)])


def _kv(**pairs: str) -> list[dict[str, str]]:
    return [{"key": key.replace("_", "-"), "value": value} for key, value in pairs.items()]


def _credit(kind: str, amount: float, name: str, full_name: str | None = None) -> dict[str, Any]:
    return {"name": name, "amount": amount, "full_name": full_name, "id": f"{kind}:{name}", "type": kind}


def _month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)


def _usage(
    month: str,
    hour: datetime,
    service: tuple[str, str],
    sku: tuple[str, str],
    cost: float,
    credits: list[dict[str, Any]],
    quantity: tuple[float, str, float, str],
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "billing_account_id": BILLING_ACCOUNT,
        "service": {"id": service[0], "description": service[1]},
        "sku": {"id": sku[0], "description": sku[1]},
        "usage_start_time": hour,
        "usage_end_time": hour + timedelta(hours=1),
        "project": {**PROJECT, "labels": _kv(env="staging", owner="web-team")},
        "labels": [],
        "system_labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": None},
        "tags": [],
        "transaction_type": "GOOGLE",
        "seller_name": None,
        "export_time": hour + timedelta(hours=5),
        "cost": cost,
        "usage": {"amount": quantity[0], "unit": quantity[1], "amount_in_pricing_units": quantity[2], "pricing_unit": quantity[3]},
        "credits": credits,
        "invoice": {"month": month.replace("-", ""), "publisher_type": "GOOGLE"},
        "cost_type": "regular",
        "adjustment_info": None,
        "cost_at_list": cost,
        "price": None,
        "resource": None,
        "subscription": None,
    }
    row.update(extra)
    return row


def _vm(month: str, hour: datetime, day: int) -> dict[str, Any]:
    cost = round(10.5 + day * 0.01, 2)
    return _usage(
        month, hour, ("6F81-5844-456A", "Compute Engine"), ("CF4E-A0C7-E3BF", "N2 Instance Core running in Americas"),
        cost,
        [_credit("SUSTAINED_USAGE_DISCOUNT", -1.25, "Sustained Usage Discount"), _credit("PROMOTION", -0.75, "Trial credit")],
        (14400.0, "seconds", 4.0, "hour"),
        labels=_kv(env="prod", team="data"),
        system_labels=[{"key": "compute.googleapis.com/machine_spec", "value": "n2-standard-4"}],
        tags=[{"key": "env", "value": "tagged", "inherited": True, "namespace": "81726354"},
              {"key": "cost-center", "value": "cc-42", "inherited": True, "namespace": "81726354"}],
        location={"location": "us-central1-a", "country": "US", "region": "us-central1", "zone": "us-central1-a"},
        cost_at_list=round(cost * 1.25, 4),
        price={"effective_price": Decimal("2.625"), "tier_start_amount": Decimal("0"), "unit": "hour",
               "pricing_unit_quantity": Decimal("1"), "list_price": Decimal("3.28125")},
        resource={"name": "web-1", "global_name": f"//compute.googleapis.com/projects/{PROJECT['id']}/zones/us-central1-a/instances/web-1"},
    )  # fmt: skip


def _daily_rows(month: str, day: int) -> list[dict[str, Any]]:
    hour = _month_start(month) + timedelta(days=day - 1, hours=10)
    cud_credit = _credit("COMMITTED_USAGE_DISCOUNT", -8.0, "Committed Usage Discount: N2 Cpu", "Committed use discount: N2 Core in Americas")
    spend_credit = _credit("COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE", -2.0, "Committed Usage Discount - Dollar Base")
    return [
        _vm(month, hour, day),
        _usage(month, hour, ("6F81-5844-456A", "Compute Engine"), ("CF4E-A0C7-E3BF", "N2 Instance Core running in Americas"),
               8.0, [cud_credit], (28800.0, "seconds", 8.0, "hour"), subscription={"instance_id": COMMITMENT_ID},
               resource={"name": "batch-1", "global_name": f"//compute.googleapis.com/projects/{PROJECT['id']}/zones/us-central1-b/instances/batch-1"}),
        _usage(month, hour, ("9662-B51E-5089", "Cloud SQL"), ("D973-5D65-BAB2", "Cloud SQL for PostgreSQL: vCPU"),
               5.0, [spend_credit], (3600.0, "seconds", 1.0, "hour")),
        _usage(month, hour, ("95FF-2EF5-5EA1", "Cloud Storage"), ("E5F0-6A5D-7BAD", "Standard Storage US Multi-region"),
               round(3.141592 + day / 1000, 6), [], (2.5e15, "byte-seconds", 0.9313225746154785, "gibibyte month"),
               location={"location": "US", "country": "US", "region": None, "zone": None}),
        _usage(month, hour, ("24E6-581D-38E5", "BigQuery"), ("F17B-412E-CB64", "Analysis"),
               1.0, [_credit("FREE_TIER", -0.9, "Free tier"), _credit("DISCOUNT", -0.1, "Spending based discount")],
               (1.099511627776e12, "bytes", 1.0, "tebibyte"), location={"location": "US", "country": "US", "region": None, "zone": None}),
        _usage(month, hour, ("A1E8-BE35-7EBC", "Vertex AI"), ("2F0D-44C1-B2A1", "Online prediction"),
               0.5, [_credit("PROMOTION", -0.8, "Launch promotion")], (10.0, "count", 10.0, "count")),
    ]  # fmt: skip


def _monthly_rows(month: str, currency_rows: dict[str, Any]) -> list[dict[str, Any]]:
    start = _month_start(month)
    previous = start - timedelta(days=3)
    correction = {"id": f"adj-{month}", "description": "Usage correction for N2 cores", "mode": "COMPLETE_NEGATION_WITH_REMONETIZATION",
                  "type": "USAGE_CORRECTION"}  # fmt: skip
    vm = ("6F81-5844-456A", "Compute Engine"), ("CF4E-A0C7-E3BF", "N2 Instance Core running in Americas")
    rows = [
        _usage(month, start, ("6F81-5844-456A", "Compute Engine"), ("B21C-43A5-2F1E", "Commitment v1: N2 Cpu in Americas for 1 Year"),
               6.0, [], (2592000.0, "seconds", 720.0, "hour"), subscription={"instance_id": COMMITMENT_ID}),
        _usage(month, start + timedelta(days=5), ("C7E2-9256-1C43", "Acme Analytics"), ("3D11-AA52-77F0", "Acme Analytics Pro seat"),
               12.0, [], (1.0, "count", 1.0, "count"), transaction_type="THIRD_PARTY_RESELLER", seller_name="Acme Analytics Inc."),
        # Usage at 03:00 UTC on the 1st of the next month is still this month in Pacific time: this invoice.
        _usage(month, _month_start(_months_after(month, 2)[1]) + timedelta(hours=3), *vm, 0.25, [], (3600.0, "seconds", 1.0, "hour")),
        _usage(month, previous, *vm, -4.0, [_credit("SUSTAINED_USAGE_DISCOUNT", 0.5, "Sustained Usage Discount")],
               (-14400.0, "seconds", -4.0, "hour"), cost_type="adjustment", adjustment_info=correction),
        _usage(month, previous, *vm, 3.5, [_credit("SUSTAINED_USAGE_DISCOUNT", -0.4, "Sustained Usage Discount")],
               (12600.0, "seconds", 3.5, "hour"), cost_type="adjustment", adjustment_info=correction),
        _usage(month, start + timedelta(days=27), ("", "Invoice"), ("", "Tax"), 2.34, [], (0.0, "", 0.0, ""),
               cost_type="tax", usage=None, cost_at_list=None),
        _usage(month, start + timedelta(days=27), ("", "Invoice"), ("", "Rounding error"), -0.01, [], (0.0, "", 0.0, ""),
               cost_type="rounding_error" if month.endswith(("1", "3", "5", "7", "9")) else "rounding error", usage=None,
               cost_at_list=None),
    ]  # fmt: skip
    return [{**row, **currency_rows} for row in rows]


def _months_after(first: str, count: int) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def gcp_export_rows(
    first_month: str = "2026-01",
    months: int = 2,
    days: int = 3,
    currency: str = "USD",
    rate: float = 1.0,
    detailed: bool = True,
    through: datetime | None = None,
) -> list[dict[str, Any]]:
    """The export's rows, BigQuery-shaped; the same arguments give the same rows. With `through`, only usage that
    started before it (an export's day of delay)."""
    currency_fields = {"currency": currency, "currency_conversion_rate": rate}
    rows: list[dict[str, Any]] = []
    for month in _months_after(first_month, months):
        for day in range(1, days + 1):
            rows += [{**row, **currency_fields} for row in _daily_rows(month, day)]
        rows += _monthly_rows(month, currency_fields)
    if through is not None:
        rows = [row for row in rows if row["usage_start_time"] < through]
    if not detailed:
        rows = [{key: value for key, value in row.items() if key not in ("resource", "subscription")} for row in rows]
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")  # BigQuery's JSON extract writes timestamps so
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def write_gcp_export(folder: Path, file_format: str = "parquet", **options: Any) -> list[Path]:
    """Write the standard and the detailed table under `folder`, named as Google names the tables."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for detailed, table in ((False, "gcp_billing_export_v1"), (True, "gcp_billing_export_resource_v1")):
        rows = gcp_export_rows(detailed=detailed, **options)
        path = folder / f"{table}_{BILLING_ACCOUNT.replace('-', '_')}.{'parquet' if file_format == 'parquet' else 'json'}"
        if file_format == "parquet":
            pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema(detailed)), path)
        else:
            path.write_text("".join(json.dumps(_json_value(row)) + "\n" for row in rows), encoding="utf-8")
        written.append(path)
    return written
