"""Exact products of two DECIMAL(38,18) values in DuckDB, for the costs Azure gives only as price x quantity.

DuckDB multiplies two DECIMAL(38,18) into DECIMAL(38,36), which overflows from 100 on, and would turn a
division into a DOUBLE. Here each factor is split into its integer part and its 18 fractional digits as
HUGEINTs, the four partial products are summed, and the result is rounded toward zero at the 18th decimal:
exact to 1e-18 for any result below 1e20.
"""

from __future__ import annotations

_E18 = "CAST(1000000000000000000 AS HUGEINT)"
_ONE_E_MINUS_18 = "CAST('0.000000000000000001' AS DECIMAL(38,18))"


def _scaled(value: str) -> str:
    """The DECIMAL(38,18) value times 1e18, as a HUGEINT (its text always has exactly 18 decimals)."""
    return f"CAST(replace(CAST(CAST({value} AS DECIMAL(38,18)) AS VARCHAR), '.', '') AS HUGEINT)"


def exact_product(left: str, right: str) -> str:
    """SQL for left x right as DECIMAL(38,18); NULL when either side is NULL."""
    a, b = _scaled(left), _scaled(right)
    a_high, a_low = f"({a} // {_E18})", f"({a} % {_E18})"
    b_high, b_low = f"({b} // {_E18})", f"({b} % {_E18})"
    scaled = (
        f"({a_high} * {b_high} * {_E18} + {a_high} * {b_low} + {a_low} * {b_high} + ({a_low} * {b_low}) // {_E18})"
    )
    return f"CAST(CAST({scaled} AS DECIMAL(38,0)) * {_ONE_E_MINUS_18} AS DECIMAL(38,18))"
