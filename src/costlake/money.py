"""Money as text: exact, plain notation (never "1E+2"), at least two decimals."""

from __future__ import annotations

from decimal import Decimal


def money_text(amount: Decimal) -> str:
    whole, _, fraction = format(amount.normalize(), "f").partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"
