"""Billing months as "YYYY-MM" strings, in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class MonthRange:
    """Billing months ("YYYY-MM") to keep; None leaves that side open."""

    first: str | None = None
    last: str | None = None


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def current_month() -> str:
    return month_of(datetime.now(UTC).date())


def add_months(month: str, count: int) -> str:
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + (number - 1) + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_span(first: str, last: str) -> list[str]:
    """Every month from first to last, both included."""
    months = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months
