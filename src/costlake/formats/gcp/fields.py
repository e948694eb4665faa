"""The fields of a GCP billing export row, whatever shape carried it.

BigQuery exports reach costlake three ways: nested (Parquet or JSON lines copied from BigQuery, or rows from the
BigQuery API: `service` is a STRUCT, `credits` a LIST of STRUCT), or flattened into CSV with dotted names
(`service.description`) and repeated fields written as text (`[{'name': ..., 'amount': -5e-06}]`, a Python literal,
or JSON). `Fields` gives one SQL expression per dotted path for all of them, so the FOCUS mapping is written once.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import duckdb
from duckdb.func import SPECIAL
from duckdb.sqltypes import DuckDBPyType

from costlake.duckdb_io import sql_identifier, sql_string
from costlake.formats import expressions

# The element shapes of the repeated fields. Every leaf is read as text: amounts become exact decimals from
# the number the provider wrote, never through a binary float.
REPEATED_SHAPES = {
    "credits": {"name": "VARCHAR", "amount": "VARCHAR", "full_name": "VARCHAR", "id": "VARCHAR", "type": "VARCHAR"},
    "labels": {"key": "VARCHAR", "value": "VARCHAR"},
    "system_labels": {"key": "VARCHAR", "value": "VARCHAR"},
    "project.labels": {"key": "VARCHAR", "value": "VARCHAR"},
    "tags": {"key": "VARCHAR", "value": "VARCHAR", "inherited": "VARCHAR", "namespace": "VARCHAR"},
}
LITERAL_TO_JSON = "costlake_gcp_repeated_json"


@dataclass(frozen=True)
class Field:
    sql: str  # the expression reading it from the source relation
    duck_type: str


def _flatten(prefix: str, sql: str, duck_type: DuckDBPyType) -> Iterator[tuple[str, Field]]:
    """Dotted paths of every leaf under a STRUCT; lists stay whole (they are repeated fields)."""
    if duck_type.id == "struct":
        for name, child in duck_type.children:
            yield from _flatten(f"{prefix}.{name}", f"{sql}.{sql_identifier(name)}", cast(DuckDBPyType, child))
    else:
        yield prefix, Field(sql, str(duck_type))


class Fields:
    """Source fields by dotted path (lower case), read from the relation's own column names and types."""

    def __init__(self, relation: duckdb.DuckDBPyRelation) -> None:
        self.by_path: dict[str, Field] = {}
        for name, duck_type in zip(relation.columns, relation.types, strict=True):
            for path, field in _flatten(name, sql_identifier(name), duck_type):
                self.by_path.setdefault(path.strip().lower(), field)

    def get(self, path: str) -> Field | None:
        return self.by_path.get(path)

    def text(self, path: str) -> str | None:
        field = self.get(path)
        return None if field is None else expressions.text(field.sql, field.duck_type)

    def money(self, path: str) -> str | None:
        field = self.get(path)
        return None if field is None else expressions.decimal(field.sql, field.duck_type)

    def timestamp(self, path: str, name: str) -> str | None:
        field = self.get(path)
        return None if field is None else expressions.timestamp(field.sql, field.duck_type, name)

    def repeated(self, path: str) -> str | None:
        """The repeated field as a typed LIST of STRUCT (leaves as text), or None when the export lacks it."""
        field = self.get(path)
        if field is None:
            return None
        if expressions.is_text(field.duck_type):
            json_text = f"{LITERAL_TO_JSON}({field.sql}, {sql_string(path)})"
        else:
            json_text = f"CAST(to_json({field.sql}) AS VARCHAR)"
        shape = sql_string(json.dumps([REPEATED_SHAPES[path]]))
        return f"from_json({json_text}, {shape})"


def _leaf_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float: the number the exporter wrote
    return str(value) if not isinstance(value, (dict, list)) else json.dumps(value)


def repeated_json(text: str | None, path: str) -> str | None:
    """A repeated field written as text (JSON, or the Python literal pandas writes) as JSON with text leaves."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise ValueError(f"column {path}: not a JSON or Python list of records: {text[:120]!r}") from None
    if not isinstance(value, list):
        raise TypeError(f"column {path}: not a list of records: {text[:120]!r}")
    records = [{key: _leaf_text(leaf) for key, leaf in item.items()} for item in value if isinstance(item, dict)]
    return json.dumps(records)


def register_functions(connection: duckdb.DuckDBPyConnection) -> None:
    connection.create_function(LITERAL_TO_JSON, repeated_json, ["VARCHAR", "VARCHAR"], "VARCHAR", null_handling=SPECIAL)
