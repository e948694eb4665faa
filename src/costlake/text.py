"""How money and moments are written for people and clients: exact, unambiguous, one format everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def money_text(amount: Decimal) -> str:
    """Plain notation (never "1E+2"), exact, at least two decimals."""
    whole, _, fraction = format(amount.normalize(), "f").partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def decimal_text(amount: Decimal) -> str:
    """Plain notation, exact, without trailing zeros: a count or a rate rather than money ("1200", "0.0125")."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "") else text


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, e.g. 2026-11-23T13:05:01.123456Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
