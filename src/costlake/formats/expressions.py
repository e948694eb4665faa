"""DuckDB expressions that turn an export's raw columns into canonical types. Shared by every file format.

Column names reaching these builders are always quoted identifiers of the file's own header; nothing here
interpolates a value a tenant typed.
"""

from __future__ import annotations

import pyarrow as pa

from costlake import schema
from costlake.duckdb_io import sql_identifier, sql_string

# Date formats seen in real exports besides ISO 8601, tried in order when the text is not ISO-shaped.
FALLBACK_TIME_FORMATS = ["%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"]
NULL_TEXT = "NULLIF(NULLIF(TRIM({c}), ''), 'NULL')"


def is_text(duck_type: str) -> bool:
    return duck_type == "VARCHAR"


def decimal(column: str, duck_type: str) -> str:
    if is_text(duck_type):
        return f"CAST({NULL_TEXT.format(c=column)} AS DECIMAL(38,18))"
    if duck_type in ("FLOAT", "DOUBLE"):
        # The shortest text form of a binary float is the number the provider wrote; casting the float
        # directly would carry its binary error into the decimal.
        return f"CAST(CAST({column} AS VARCHAR) AS DECIMAL(38,18))"
    return f"CAST({column} AS DECIMAL(38,18))"


def timestamp(column: str, duck_type: str, name: str) -> str:
    if not is_text(duck_type):
        return f"CAST({column} AS TIMESTAMPTZ)"
    text = NULL_TEXT.format(c=column)
    formats = "[" + ", ".join(sql_string(f) for f in FALLBACK_TIME_FORMATS) + "]"
    problem = sql_string(f"column {name}: cannot read ") + f" || {text} || " + sql_string(
        " as a date/time; expected ISO 8601 such as 2026-01-31T00:00:00Z"
    )
    return (
        # Only ISO-shaped text (YYYY-...) goes through the cast: DuckDB reads "4/1/25" as year 4.
        f"CASE WHEN {text} IS NULL THEN NULL ELSE COALESCE("
        f"CASE WHEN substr({text}, 5, 1) = '-' THEN TRY_CAST({text} AS TIMESTAMPTZ) END, "
        f"CAST(TRY_STRPTIME({text}, {formats}) AS TIMESTAMPTZ), error({problem})) END"
    )


def tag_map(column: str, duck_type: str) -> str:
    if is_text(duck_type):
        return f"CAST(json({NULL_TEXT.format(c=column)}) AS MAP(VARCHAR, VARCHAR))"
    if duck_type.startswith("MAP("):
        return f"CAST({column} AS MAP(VARCHAR, VARCHAR))"
    return f"CAST(to_json({column}) AS MAP(VARCHAR, VARCHAR))"


def text(column: str, duck_type: str) -> str:
    if is_text(duck_type):
        return f"NULLIF(NULLIF({column}, ''), 'NULL')"
    if duck_type.startswith(("STRUCT", "MAP", "LIST")) or duck_type.endswith("[]"):
        return f"CAST(to_json({column}) AS VARCHAR)"
    return f"CAST({column} AS VARCHAR)"


def typed_null(data_type: pa.DataType) -> str:
    if data_type == schema.MONEY:
        return "CAST(NULL AS DECIMAL(38,18))"
    if data_type == schema.TIMESTAMP:
        return "CAST(NULL AS TIMESTAMPTZ)"
    if data_type == schema.TAG_MAP:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    return "CAST(NULL AS VARCHAR)"


def extensions(columns: list[tuple[str, str]]) -> str:
    """A string map of the given (name, type) columns, skipping nulls: what costlake keeps but does not model."""
    if not columns:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    entries = ", ".join(
        f"{{'key': {sql_string(name)}, 'value': {text(sql_identifier(name), duck_type)}}}" for name, duck_type in columns
    )
    return f"map_from_entries(list_filter([{entries}], lambda e: e.value IS NOT NULL))"
