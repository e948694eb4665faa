"""Printing results, by one rule for every command: a table for people when stdout is a terminal, the API's JSON
untouched when it is not (a pipe, a file: scripts parse it); `--output` chooses either. Tables show money to the
currency's minor unit, right-aligned; JSON keeps the exact decimal strings."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any

import typer
from babel.numbers import get_currency_precision
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

stderr = Console(stderr=True)


class Output(str, Enum):
    json = "json"
    table = "table"


OutputOption = Annotated[
    Output | None,
    typer.Option("--output", "-o", help="json or table; default: a table on a terminal, JSON when piped or redirected."),
]


def chosen(output: Output | None) -> Output:
    """The rule for every command's default: a table on a terminal, JSON otherwise."""
    if output is not None:
        return output
    return Output.table if sys.stdout.isatty() else Output.json


def money(amount: str, currency: str) -> str:
    """"8.5450077867419368", "USD" -> "8.55"; "1234567", "JPY" -> "1,234,567": the currency's minor unit (ISO 4217
    via CLDR), half up, thousands grouped. Exact values stay in the JSON output."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError):
        return str(amount)
    digits = get_currency_precision(currency)
    return format(value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP), f",.{digits}f")


def plural(count: int, noun: str) -> str:
    """1 row, 2 rows, 3,000 rows."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def emit(
    data: Any, output: Output | None, *, columns: Sequence[str] | None = None, right: Sequence[str] = ()
) -> None:
    """Print one result; `columns` picks what a row of a list shows in a table (every field by default), `right`
    which columns are right-aligned (amounts)."""
    if chosen(output) is Output.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        console = Console()
        if not console.is_terminal:
            console.width = 1000  # no terminal to fit (a pipe, a file): keep each row on one line
        console.print(_table(data, columns, right))


def _table(data: Any, columns: Sequence[str] | None, right: Sequence[str]) -> Table:
    if isinstance(data, dict) and set(data) == {"items", "next_cursor"}:
        table = _rows(data["items"], columns, right)
        if data["next_cursor"]:
            table.caption = f"more with --cursor {data['next_cursor']}"
        return table
    if isinstance(data, list):
        return _rows(data, columns, right)
    table = Table(Column("field"), Column("value", overflow="fold"), show_header=False)
    for key, value in data.items():
        table.add_row(Text(key), _cell(value))
    return table


def _rows(items: list[dict[str, Any]], columns: Sequence[str] | None, right: Sequence[str]) -> Table:
    names = list(columns or (items[0] if items else []))
    # Ids are what people copy from a table: other columns wrap first, and nothing is cut off.
    table = Table(
        *(
            Column(name, overflow="fold", no_wrap=name == "id" or name.endswith("_id"), justify="right" if name in right else "left")
            for name in names
        )
    )
    for item in items:
        table.add_row(*(_cell(item.get(name)) for name in names))
    return table


def _cell(value: Any) -> Text:
    # Text, not a str: rich would read brackets in messages and URIs as markup.
    return Text(_plain(value))


_CURRENCY = re.compile(r"[A-Z]{3}")


def _plain(value: Any, nested: bool = False) -> str:
    # Billed cost by month reads best as one month per line: "2026-01: USD 1,234.50, EUR 3.10".
    if value is None or value == [] or value == {}:
        return "-"
    if isinstance(value, dict):
        if nested:
            return ", ".join(
                f"{key} {money(inner, key) if _CURRENCY.fullmatch(key) and isinstance(inner, str) else _plain(inner, True)}"
                for key, inner in value.items()
            )
        return "\n".join(f"{key}: {_plain(inner, True)}" for key, inner in value.items())
    if isinstance(value, list):
        return (", " if nested else "\n").join(_plain(inner, True) for inner in value)
    return str(value)
