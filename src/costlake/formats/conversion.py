"""The common frame of every reader: scan a file with DuckDB, project it onto the canonical columns, stream
batches, and explain failures by file and column."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import duckdb
import pyarrow as pa

from costlake import schema
from costlake.duckdb_io import sql_identifier, sql_string
from costlake.errors import CostlakeError
from costlake.formats.contract import file_started
from costlake.formats.expressions import is_text, typed_null
from costlake.months import MonthRange
from costlake.storage import StoredFile

BATCH_ROWS = 256 * 1024
Header = list[tuple[str, str]]  # (column name, DuckDB type) in file order


class ConversionError(CostlakeError):
    """A file that cannot become canonical rows; the message names the file and the column."""


def scan(file: StoredFile) -> str:
    """The DuckDB table function reading one export file, every CSV column as text."""
    path = sql_string(file.uri)
    name = file.uri.lower()
    if name.endswith((".parquet", ".parq")):
        return f"read_parquet({path}, hive_partitioning = false)"
    if name.endswith((".csv", ".csv.gz", ".csv.gzip", ".txt")):
        # Real exports mix CRLF and LF line ends, and leave trailing empty columns off some rows (legacy CUR's
        # dynamic tag columns): read leniently, padding short rows with nulls. Quoting is RFC 4180.
        return (
            f"read_csv({path}, header = true, all_varchar = true, nullstr = ['', 'NULL'], hive_partitioning = false, "
            "strict_mode = false, null_padding = true, quote = '\"', escape = '\"')"
        )
    raise ConversionError(f"{file.uri}: unsupported file type; exports are read from .parquet, .csv or .csv.gz files")


def describe(connection: duckdb.DuckDBPyConnection, file: StoredFile) -> Header:
    return [(row[0], row[1]) for row in connection.sql(f"DESCRIBE SELECT * FROM {scan(file)}").fetchall()]


def canonical_query(columns: dict[str, str], source: str, months: MonthRange) -> str:
    """SELECT every canonical column from `source` (SQL yielding rows), given expressions for some of them
    (FOCUS columns and the fixed `x_` columns of schema.CONVERTED_EXTENSIONS).

    Missing columns are typed NULLs; ProviderName and ServiceProviderName fill each other; the billing month is
    the UTC month of BillingPeriodStart, else ChargePeriodStart; rows outside `months` are dropped.
    """
    inner = [f"{columns.get(name) or typed_null(data_type)} AS {sql_identifier(name)}" for name, data_type in schema.FOCUS_COLUMNS.items()]
    inner += [f"{columns.get(name) or typed_null(data_type)} AS {name}" for name, data_type in schema.CONVERTED_EXTENSIONS.items()]
    outer = []
    for name in schema.FOCUS_COLUMNS:
        if name == "ProviderName":
            outer.append("COALESCE(ProviderName, ServiceProviderName) AS ProviderName")
        elif name == "ServiceProviderName":
            outer.append("COALESCE(ServiceProviderName, ProviderName) AS ServiceProviderName")
        else:
            outer.append(sql_identifier(name))
    no_month = sql_string("a row has neither BillingPeriodStart nor ChargePeriodStart; every row needs ChargePeriodStart")
    month = f"COALESCE(strftime(COALESCE(BillingPeriodStart, ChargePeriodStart), '%Y-%m'), error({no_month}))"
    outer += [*schema.CONVERTED_EXTENSIONS, f"{month} AS {schema.BILLING_MONTH}"]
    where = []
    if months.first:
        where.append(f"{schema.BILLING_MONTH} >= {sql_string(months.first)}")
    if months.last:
        where.append(f"{schema.BILLING_MONTH} <= {sql_string(months.last)}")
    query = f"SELECT * FROM (SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source}))"
    return query + (f" WHERE {' AND '.join(where)}" if where else "")


def _column_holding(connection: duckdb.DuckDBPyConnection, file: StoredFile, header: Header, value: str) -> str | None:
    """Which text column holds `value` (DuckDB names the value that failed a cast, not always its column)."""
    for column, duck_type in header:
        if is_text(duck_type):
            found = connection.sql(
                f"SELECT 1 FROM {scan(file)} WHERE TRIM({sql_identifier(column)}) = {sql_string(value)} LIMIT 1"
            ).fetchall()
            if found:
                return column
    return None


def explain(connection: duckdb.DuckDBPyConnection, file: StoredFile, header: Header, error: duckdb.Error) -> ConversionError:
    message = re.sub(r"^[A-Za-z ]+ Error: ", "", str(error).split("\n")[0])
    if "Malformed JSON" in message:
        message = f"column Tags: not valid JSON ({message}); Tags must be a JSON object of key-value pairs"
    elif (failed := re.search(r'Could not convert string "(.*)" to DECIMAL', message)) is not None:
        column = _column_holding(connection, file, header, failed[1])
        message = (
            f"column {column or '?'}: {failed[1]!r} is not a plain decimal number; money and quantity columns hold "
            "numbers like 1234.5678 (no currency symbol, no thousands separator)"
        )
    elif "when casting from source column" in message:
        column = message.rsplit("when casting from source column", 1)[1].strip()
        message = f"column {column}: {message.split(' when casting')[0]}"
    return ConversionError(f"{file.uri}: {message}")


def stream_file(
    connection: duckdb.DuckDBPyConnection, file: StoredFile, build_query: Callable[[Header], str]
) -> Iterator[pa.RecordBatch]:
    """Run the query a reader builds from the file's header, as canonical batches."""
    file_started(file.uri)
    header: Header = []
    try:
        header = describe(connection, file)
        reader = connection.sql(build_query(header)).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            yield batch.cast(schema.CONVERTED_SCHEMA) if batch.schema != schema.CONVERTED_SCHEMA else batch
    except duckdb.Error as error:
        raise explain(connection, file, header, error) from None
