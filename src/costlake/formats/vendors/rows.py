"""Vendor rows (dicts of FOCUS column -> Python value) to canonical record batches.

Money must be Decimal (a float is refused: it would already have lost cents); timestamps timezone-aware;
Tags and x_Extensions dicts of strings. The billing month is BillingPeriodStart's, else ChargePeriodStart's,
and rows outside the sync's months are dropped, as for file formats.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from costlake import schema
from costlake.months import MonthRange

BATCH_ROWS = 50_000
_MONEY_PLACES = Decimal(1).scaleb(-18)
_MONEY_COLUMNS = set(schema.DECIMAL_COLUMNS) | {
    name for name, data_type in schema.CONVERTED_EXTENSIONS.items() if data_type == schema.MONEY
}


def money(value: Decimal | int | str) -> Decimal:
    """Exact money from a vendor's decimal string or integer (never a float)."""
    if isinstance(value, float):
        raise TypeError("money must not pass through a float; parse the vendor's JSON with parse_float=Decimal")
    return Decimal(value)


def seller(name: str) -> dict[str, str]:
    """The vendor in every FOCUS role it plays on its own bill: provider, publisher and invoice issuer."""
    return {"ProviderName": name, "ServiceProviderName": name, "PublisherName": name, "InvoiceIssuerName": name}


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding `moment`, as [start, end)."""
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _billing_month(row: dict[str, Any]) -> str:
    moment = row.get("BillingPeriodStart") or row.get("ChargePeriodStart")
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("every vendor row needs a timezone-aware ChargePeriodStart")
    return moment.astimezone(UTC).strftime("%Y-%m")


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _MONEY_COLUMNS:
        return money(value).quantize(_MONEY_PLACES)
    if isinstance(value, dict):
        return [(str(key), None if item is None else str(item)) for key, item in value.items()]
    return value


def _batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    columns = []
    for field in schema.CONVERTED_SCHEMA:
        values: list[Any]
        if field.name == schema.BILLING_MONTH:
            values = [_billing_month(row) for row in rows]
        elif field.name == "ProviderName":
            values = [row.get("ProviderName") or row.get("ServiceProviderName") for row in rows]
        elif field.name == "ServiceProviderName":
            values = [row.get("ServiceProviderName") or row.get("ProviderName") for row in rows]
        else:
            values = [_cell(field.name, row.get(field.name)) for row in rows]
        columns.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema.CONVERTED_SCHEMA)


def _in_range(month: str, months: MonthRange) -> bool:
    return (months.first is None or month >= months.first) and (months.last is None or month <= months.last)


def rows_to_batches(rows: Iterable[dict[str, Any]], months: MonthRange, size: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    unknown_checked = False
    pending: list[dict[str, Any]] = []
    for row in rows:
        if not unknown_checked:
            unknown = set(row) - set(schema.CONVERTED_SCHEMA.names)
            if unknown:
                raise ValueError(f"not canonical column(s): {', '.join(sorted(unknown))}")
            unknown_checked = True
        if _in_range(_billing_month(row), months):
            pending.append(row)
        if len(pending) >= size:
            yield _batch(pending)
            pending = []
    if pending:
        yield _batch(pending)
