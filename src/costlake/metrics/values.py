"""Metric values as people send them (JSON items, CSV files) into checked changes; one bad line refuses the
whole upload, naming the line, so nothing half-lands."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from costlake.catalog.metrics import ValueChange, labels_hash
from costlake.errors import InvalidInput
from costlake.metrics.labels import LabelChecker

MAX_VALUES = 100_000
MAX_DIGITS = 30


@dataclass(frozen=True)
class RawValue:
    """One value as sent, with where it came from ("values[3]" or "line 4") for the error message."""

    where: str
    date: Any
    value: Any
    labels: Mapping[str, Any]


def _day(raw: RawValue) -> date:
    if isinstance(raw.date, date):
        return raw.date
    try:
        return date.fromisoformat(str(raw.date).strip())
    except ValueError:
        raise InvalidInput(raw.where, f"{raw.where}: bad date {raw.date!r}; use YYYY-MM-DD (a UTC day)") from None


def _amount(raw: RawValue) -> Decimal | None:
    if raw.value is None:
        return None
    if isinstance(raw.value, bool | float):
        # Floats carry binary error; JSON clients send the number as text ("1234.5") or as an integer.
        raise InvalidInput(raw.where, f"{raw.where}: send the value as a decimal string (\"1234.5\") or an integer, not {type(raw.value).__name__}")
    try:
        amount = Decimal(str(raw.value).strip())
    except InvalidOperation:
        raise InvalidInput(raw.where, f"{raw.where}: value {raw.value!r} is not a number") from None
    if not amount.is_finite():
        raise InvalidInput(raw.where, f"{raw.where}: value {raw.value!r} is not a finite number")
    if amount < 0:
        raise InvalidInput(raw.where, f"{raw.where}: value {raw.value!r} is negative; usage metrics count things, so they are 0 or more")
    if len(amount.as_tuple().digits) > MAX_DIGITS:
        raise InvalidInput(raw.where, f"{raw.where}: value {raw.value!r} has more than {MAX_DIGITS} digits")
    return amount


def check_values(raws: Iterable[RawValue], labels: LabelChecker) -> list[ValueChange]:
    """Changes in the order sent; a day and label set given twice is refused, naming both places."""
    changes: list[ValueChange] = []
    seen: dict[tuple[date, str], str] = {}
    for raw in raws:
        if len(changes) >= MAX_VALUES:
            raise InvalidInput(raw.where, f"at most {MAX_VALUES} values per upload; split the file")
        day = _day(raw)
        amount = _amount(raw)
        checked = labels.check(raw.labels, raw.where)
        key = (day, labels_hash(checked))
        if key in seen:
            raise InvalidInput(raw.where, f"{raw.where}: {day.isoformat()} with these labels is also at {seen[key]}; give each day once")
        seen[key] = raw.where
        changes.append(ValueChange(day, checked, amount))
    return changes


def csv_values(text: str) -> list[RawValue]:
    """`date,value[,label columns]` with a header line; the value `null` deletes that day, an empty label is unset."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise InvalidInput("line 1", "line 1: the file is empty; expected a header line date,value[,label columns]")
    header = [name.strip() for name in header]
    if header[:2] != ["date", "value"]:
        raise InvalidInput("line 1", f"line 1: the header must start with date,value (then label columns), not {','.join(header)!r}")
    label_names = header[2:]
    if len(set(label_names)) != len(label_names) or "" in label_names:
        raise InvalidInput("line 1", "line 1: label columns need distinct, non-empty names")
    rows = []
    for row in reader:
        where = f"line {reader.line_num}"
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InvalidInput(where, f"{where}: {len(row)} fields where the header has {len(header)}")
        value = row[1].strip()
        if not value:
            raise InvalidInput(where, f"{where}: the value is empty; give a number (or null to delete that day)")
        labels = {name: cell.strip() for name, cell in zip(label_names, row[2:]) if cell.strip()}
        rows.append(RawValue(where, row[0], None if value == "null" else value, labels))
    return rows
