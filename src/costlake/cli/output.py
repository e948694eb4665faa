"""Printing results: the API's JSON untouched by default (scripts parse it), or a rich table for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

stderr = Console(stderr=True)


class Output(str, Enum):
    json = "json"
    table = "table"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="Print JSON, or a table for reading.")]


def emit(data: Any, output: Output, *, columns: Sequence[str] | None = None) -> None:
    """Print one result; `columns` picks what a row of a list shows in a table (every field by default)."""
    if output is Output.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        console = Console()
        if not console.is_terminal:
            console.width = 1000  # no terminal to fit (a pipe, a file): keep each row on one line
        console.print(_table(data, columns))


def _table(data: Any, columns: Sequence[str] | None) -> Table:
    if isinstance(data, dict) and set(data) == {"items", "next_cursor"}:
        table = _rows(data["items"], columns)
        if data["next_cursor"]:
            table.caption = f"more with --cursor {data['next_cursor']}"
        return table
    if isinstance(data, list):
        return _rows(data, columns)
    table = Table(Column("field"), Column("value", overflow="fold"), show_header=False)
    for key, value in data.items():
        table.add_row(Text(key), _cell(value))
    return table


def _rows(items: list[dict[str, Any]], columns: Sequence[str] | None) -> Table:
    names = list(columns or (items[0] if items else []))
    # Ids are what people copy from a table: other columns wrap first, and nothing is cut off.
    table = Table(*(Column(name, overflow="fold", no_wrap=name == "id" or name.endswith("_id")) for name in names))
    for item in items:
        table.add_row(*(_cell(item.get(name)) for name in names))
    return table


def _cell(value: Any) -> Text:
    # Text, not a str: rich would read brackets in messages and URIs as markup.
    return Text(_plain(value))


def _plain(value: Any, nested: bool = False) -> str:
    # Billed cost by month reads best as one month per line: "2026-01: USD 1234.50, EUR 3.10".
    if value is None or value == [] or value == {}:
        return "-"
    if isinstance(value, dict):
        if nested:
            return ", ".join(f"{key} {_plain(inner, True)}" for key, inner in value.items())
        return "\n".join(f"{key}: {_plain(inner, True)}" for key, inner in value.items())
    if isinstance(value, list):
        return (", " if nested else "\n").join(_plain(inner, True) for inner in value)
    return str(value)
