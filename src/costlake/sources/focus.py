"""FOCUS exports (1.0-preview to 1.3, CSV or Parquet) to canonical record batches.

Each file is read by DuckDB with a SELECT built from its own header: names matched case-insensitively, legacy
names mapped where the current name is absent, text parsed into decimals, UTC timestamps and a tag map, and
every column costlake does not model kept in `x_Extensions`. Batches stream out; no file is held in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from costlake import schema
from costlake.errors import CostlakeError
from costlake.settings import Settings
from costlake.sources.duckdb_io import connect, sql_identifier, sql_string
from costlake.storage import StoredFile

BATCH_ROWS = 256 * 1024
# Date formats seen in real exports besides ISO 8601, tried in order when a plain cast fails.
_FALLBACK_TIME_FORMATS = ["%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"]
_NULL_TEXT = "NULLIF(NULLIF(TRIM({c}), ''), 'NULL')"


class ConversionError(CostlakeError):
    """A file that cannot become FOCUS rows; the message names the file and the column."""


@dataclass(frozen=True)
class MonthRange:
    """Billing months ("YYYY-MM") to keep; None leaves that side open."""

    first: str | None = None
    last: str | None = None


def _is_text(duck_type: str) -> bool:
    return duck_type == "VARCHAR"


def _decimal(column: str, duck_type: str) -> str:
    if _is_text(duck_type):
        return f"CAST({_NULL_TEXT.format(c=column)} AS DECIMAL(38,18))"
    if duck_type in ("FLOAT", "DOUBLE"):
        # The shortest text form of a binary float is the number the provider wrote; casting the float
        # directly would carry its binary error into the decimal.
        return f"CAST(CAST({column} AS VARCHAR) AS DECIMAL(38,18))"
    return f"CAST({column} AS DECIMAL(38,18))"


def _timestamp(column: str, duck_type: str, name: str) -> str:
    if not _is_text(duck_type):
        return f"CAST({column} AS TIMESTAMPTZ)"
    text = _NULL_TEXT.format(c=column)
    formats = "[" + ", ".join(sql_string(f) for f in _FALLBACK_TIME_FORMATS) + "]"
    problem = sql_string(f"column {name}: cannot read ") + f" || {text} || " + sql_string(
        " as a date/time; expected ISO 8601 such as 2026-01-31T00:00:00Z"
    )
    return (
        # Only ISO-shaped text (YYYY-...) goes through the cast: DuckDB reads "4/1/25" as year 4.
        f"CASE WHEN {text} IS NULL THEN NULL ELSE COALESCE("
        f"CASE WHEN substr({text}, 5, 1) = '-' THEN TRY_CAST({text} AS TIMESTAMPTZ) END, "
        f"CAST(TRY_STRPTIME({text}, {formats}) AS TIMESTAMPTZ), error({problem})) END"
    )


def _tag_map(column: str, duck_type: str) -> str:
    if _is_text(duck_type):
        return f"CAST(json({_NULL_TEXT.format(c=column)}) AS MAP(VARCHAR, VARCHAR))"
    if duck_type.startswith("MAP("):
        return f"CAST({column} AS MAP(VARCHAR, VARCHAR))"
    return f"CAST(to_json({column}) AS MAP(VARCHAR, VARCHAR))"


def _text(column: str, duck_type: str) -> str:
    if _is_text(duck_type):
        return f"NULLIF(NULLIF({column}, ''), 'NULL')"
    if duck_type.startswith(("STRUCT", "MAP", "LIST")) or duck_type.endswith("[]"):
        return f"CAST(to_json({column}) AS VARCHAR)"
    return f"CAST({column} AS VARCHAR)"


def _expression(name: str, column: str, duck_type: str) -> str:
    if name in schema.DECIMAL_COLUMNS:
        return _decimal(column, duck_type)
    if name in schema.TIMESTAMP_COLUMNS:
        return _timestamp(column, duck_type, name)
    if name in schema.MAP_COLUMNS:
        return _tag_map(column, duck_type)
    return _text(column, duck_type)


def _null_of(data_type: pa.DataType) -> str:
    if data_type == schema.MONEY:
        return "CAST(NULL AS DECIMAL(38,18))"
    if data_type == schema.TIMESTAMP:
        return "CAST(NULL AS TIMESTAMPTZ)"
    if data_type == schema.TAG_MAP:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    return "CAST(NULL AS VARCHAR)"


def map_columns(header: list[str]) -> tuple[dict[str, str], list[str]]:
    """Match a file's header to FOCUS names. Returns ({FOCUS name: header name}, [unmatched header names])."""
    by_lower = {name.lower(): name for name in schema.FOCUS_COLUMNS}
    matched: dict[str, str] = {}
    legacy: dict[str, str] = {}
    unmatched: list[str] = []
    for column in header:
        key = column.strip().lower()
        if key in by_lower and by_lower[key] not in matched:
            matched[by_lower[key]] = column
        elif key in schema.LEGACY_NAMES:
            legacy[schema.LEGACY_NAMES[key]] = column
        else:
            unmatched.append(column)
    for name, column in legacy.items():
        if name in matched:
            unmatched.append(column)  # ambiguous: the current name wins, the old one is kept as an extension
        else:
            matched[name] = column
    return matched, unmatched


def _extensions(unmatched: list[tuple[str, str]]) -> str:
    if not unmatched:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    entries = ", ".join(
        f"{{'key': {sql_string(name)}, 'value': {_text(sql_identifier(name), duck_type)}}}" for name, duck_type in unmatched
    )
    return f"map_from_entries(list_filter([{entries}], lambda e: e.value IS NOT NULL))"


def _scan(file: StoredFile) -> str:
    path = sql_string(file.uri)
    name = file.uri.lower()
    if name.endswith(".parquet") or name.endswith(".parq"):
        return f"read_parquet({path}, hive_partitioning = false)"
    if name.endswith((".csv", ".csv.gz", ".csv.gzip", ".txt")):
        return f"read_csv({path}, header = true, all_varchar = true, nullstr = ['', 'NULL'], hive_partitioning = false)"
    raise ConversionError(f"{file.uri}: unsupported file type; FOCUS exports are read from .parquet, .csv or .csv.gz files")


def build_query(file: StoredFile, header: list[tuple[str, str]], months: MonthRange) -> str:
    """The SELECT that turns one file into canonical rows. Built only from the file's own header, quoted."""
    types = dict(header)
    matched, unmatched = map_columns([name for name, _ in header])
    missing = [name for name in schema.REQUIRED_COLUMNS if name not in matched]
    if missing:
        raise ConversionError(
            f"{file.uri}: missing required FOCUS column(s) {', '.join(missing)}; expected a FOCUS 1.0-1.3 export "
            f"with BilledCost, ChargePeriodStart and BillingCurrency (found: {', '.join(types)[:300]})"
        )
    columns = []
    for name, data_type in schema.FOCUS_COLUMNS.items():
        source = matched.get(name)
        expression = _null_of(data_type) if source is None else _expression(name, sql_identifier(source), types[source])
        columns.append(f"{expression} AS {sql_identifier(name)}")
    columns.append(f"{_extensions([(n, types[n]) for n in unmatched])} AS {schema.EXTENSIONS}")

    outer = []
    for name in schema.FOCUS_COLUMNS:
        if name == "ProviderName":
            outer.append("COALESCE(ProviderName, ServiceProviderName) AS ProviderName")
        elif name == "ServiceProviderName":
            outer.append("COALESCE(ServiceProviderName, ProviderName) AS ServiceProviderName")
        else:
            outer.append(sql_identifier(name))
    no_month = sql_string(
        "a row has neither BillingPeriodStart nor ChargePeriodStart; every FOCUS row needs ChargePeriodStart"
    )
    month = f"COALESCE(strftime(COALESCE(BillingPeriodStart, ChargePeriodStart), '%Y-%m'), error({no_month}))"
    outer += [schema.EXTENSIONS, f"{month} AS {schema.BILLING_MONTH}"]
    where = []
    if months.first:
        where.append(f"{schema.BILLING_MONTH} >= {sql_string(months.first)}")
    if months.last:
        where.append(f"{schema.BILLING_MONTH} <= {sql_string(months.last)}")
    query = f"SELECT * FROM (SELECT {', '.join(outer)} FROM (SELECT {', '.join(columns)} FROM {_scan(file)}))"
    return query + (f" WHERE {' AND '.join(where)}" if where else "")


def _first_bad_number(
    connection: duckdb.DuckDBPyConnection, file: StoredFile, header: list[tuple[str, str]]
) -> str | None:
    """Find which money or quantity column holds text that is not a number, to say so in the error."""
    matched, _ = map_columns([name for name, _ in header])
    types = dict(header)
    for name in schema.DECIMAL_COLUMNS:
        column = matched.get(name)
        if column is None or not _is_text(types[column]):
            continue
        text = _NULL_TEXT.format(c=sql_identifier(column))
        query = f"SELECT {text} FROM {_scan(file)} WHERE {text} IS NOT NULL AND TRY_CAST({text} AS DECIMAL(38,18)) IS NULL"
        bad = connection.sql(query + " LIMIT 1").fetchall()
        if bad:
            return (
                f"column {column}: {bad[0][0]!r} is not a plain decimal number; FOCUS money and quantity columns "
                "hold numbers like 1234.5678 (no currency symbol, no thousands separator)"
            )
    return None


def _explain(
    connection: duckdb.DuckDBPyConnection, file: StoredFile, header: list[tuple[str, str]], error: duckdb.Error
) -> ConversionError:
    message = re.sub(r"^[A-Za-z ]+ Error: ", "", str(error).split("\n")[0])
    if "Malformed JSON" in message:
        message = f"column Tags: not valid JSON ({message}); FOCUS Tags must be a JSON object of key-value pairs"
    elif isinstance(error, duckdb.ConversionException) and "DECIMAL" in message:
        message = _first_bad_number(connection, file, header) or message
    elif "when casting from source column" in message:
        column = message.rsplit("when casting from source column", 1)[1].strip()
        message = f"column {column}: {message.split(' when casting')[0]}"
    return ConversionError(f"{file.uri}: {message}")


def read_focus_file(
    connection: duckdb.DuckDBPyConnection, file: StoredFile, months: MonthRange
) -> Iterator[pa.RecordBatch]:
    header: list[tuple[str, str]] = []
    try:
        header = [(row[0], row[1]) for row in connection.sql(f"DESCRIBE SELECT * FROM {_scan(file)}").fetchall()]
        reader = connection.sql(build_query(file, header, months)).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            yield batch.cast(schema.CONVERTED_SCHEMA) if batch.schema != schema.CONVERTED_SCHEMA else batch
    except duckdb.Error as error:
        raise _explain(connection, file, header, error) from None


def read_focus(files: list[StoredFile], settings: Settings, months: MonthRange) -> Iterator[pa.RecordBatch]:
    """Every file in turn; the first bad file stops the read with a message naming it."""
    connection = connect(settings, [file.uri for file in files])
    try:
        for file in files:
            yield from read_focus_file(connection, file, months)
    finally:
        connection.close()
