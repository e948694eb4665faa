"""The common frame of every reader: scan a file with DuckDB, project it onto the canonical columns, stream
batches, and explain failures by file and column."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from costlake import schema
from costlake.duckdb_io import sql_identifier, sql_string
from costlake.errors import CostlakeError, InvalidInput
from costlake.formats.contract import file_started
from costlake.formats.expressions import is_text, typed_null
from costlake.months import MonthRange
from costlake.settings import Settings
from costlake.storage import StorageError, StoredFile, open_file

BATCH_ROWS = 256 * 1024
Header = list[tuple[str, str]]  # (column name, DuckDB type) in file order


class ConversionError(CostlakeError):
    """A file that cannot become canonical rows; the message names the file and the column."""


# The text encodings DuckDB reads CSV files in without an extension; a format that offers the `encoding` option
# takes one of these.
CSV_ENCODINGS = ("utf-8", "utf-16", "latin-1")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.gzip", ".txt")
# The first bytes of compressed files, for telling a person why a ".csv" does not read as text.
_COMPRESSED = {b"\x1f\x8b": ("gzip", ".csv.gz"), b"\x28\xb5\x2f\xfd": ("zstd", ".csv.zst"), b"BZh": ("bzip2", ".csv.bz2"),
               b"PK\x03\x04": ("zip", ".zip")}


def check_encoding(options: Mapping[str, str]) -> None:
    """The `encoding` option of a CSV format: one DuckDB reads."""
    if options.get("encoding", "utf-8").lower() not in CSV_ENCODINGS:
        raise InvalidInput("options", f"encoding {options['encoding']!r} is not one costlake reads; use one of: {', '.join(CSV_ENCODINGS)}")


def is_csv(file: StoredFile) -> bool:
    return file.uri.lower().endswith(_CSV_SUFFIXES)


def scan(file: StoredFile, encoding: str | None = None) -> str:
    """The DuckDB table function reading one export file, every CSV column as text (in `encoding`, default UTF-8)."""
    path = sql_string(file.uri)
    name = file.uri.lower()
    if name.endswith((".parquet", ".parq")):
        return f"read_parquet({path}, hive_partitioning = false)"
    if is_csv(file):
        # Real exports mix CRLF and LF line ends, and leave trailing empty columns off some rows (legacy CUR's
        # dynamic tag columns): read leniently, padding short rows with nulls. Quoting is RFC 4180.
        chosen = f", encoding = {sql_string(encoding.lower())}" if encoding else ""
        return (
            f"read_csv({path}, header = true, all_varchar = true, nullstr = ['', 'NULL'], hive_partitioning = false, "
            f"strict_mode = false, null_padding = true, quote = '\"', escape = '\"'{chosen})"
        )
    raise ConversionError(f"{file.uri}: unsupported file type; exports are read from .parquet, .csv or .csv.gz files")


def describe(connection: duckdb.DuckDBPyConnection, file: StoredFile, encoding: str | None = None) -> Header:
    return [(row[0], row[1]) for row in connection.sql(f"DESCRIBE SELECT * FROM {scan(file, encoding)}").fetchall()]


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


def _head(file: StoredFile, settings: Settings | None) -> bytes:
    if settings is None:
        return b""
    try:
        with open_file(file.uri, settings) as stream:
            return stream.read(4096)
    except (StorageError, OSError):
        return b""


def _likely_encoding(head: bytes) -> str:
    return "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head.count(b"\x00") > len(head) // 4 else "latin-1"


def _csv_problem(file: StoredFile, full: str, head: bytes) -> str | None:
    """What is really wrong with a CSV file DuckDB could not read, in words, with what to do; None if unclear."""
    line = re.search(r"CSV Error on Line: (\d+)", full)
    where = f" (line {line[1]})" if line else ""
    for magic, (kind, suffix) in _COMPRESSED.items():
        if head.startswith(magic) and not file.uri.lower().endswith((".gz", ".gzip")):
            return (f"the file is {kind}-compressed, but its name ends in {file.uri.rsplit('.', 1)[-1]!r}; costlake reads a "
                    f"file by its name: name it {suffix if kind == 'gzip' else '.csv (uncompressed) or .csv.gz'}")
    if "not utf-8 encoded" in full or "Invalid unicode" in full:
        encoding = _likely_encoding(head)
        return (f"the file is not UTF-8 text{where}; it looks like {encoding}. FOCUS exports take the source option "
                f"encoding (`--option encoding={encoding}`, or \"options\": {{\"encoding\": \"{encoding}\"}}); for other "
                "formats, export the file as UTF-8")
    if "Maximum line size" in full:
        return (f"a line is longer than DuckDB's 2 MB line limit{where}: usually a quote that never closes, so the "
                "lines after it run together; fix the quoting (a quoted value ends with a quote, quotes inside it are doubled)")
    if "quoted new lines" in full or "Parallel CSV Reader" in full:
        return (f"a quoted value spans several lines{where}; costlake's CSV reader (which pads short rows) reads each "
                "value on one line: remove the line breaks inside values, or export the file as Parquet")
    if "quote" in full.lower():
        return _broken_quoting(where)
    return None


def _broken_quoting(where: str = "") -> str:
    return (f"broken quoting{where}: a value opens a double quote that never closes, or has a stray quote inside; in "
            'CSV a quoted value ends with a quote, and a quote inside it is written twice ("")')


def explain(
    connection: duckdb.DuckDBPyConnection, file: StoredFile, header: Header, error: Exception, settings: Settings | None = None
) -> ConversionError:
    full = str(error)
    message = re.sub(r"^[A-Za-z ]+ Error: ", "", full.split("\n")[0])
    csv_problem = _csv_problem(file, full, _head(file, settings)) if is_csv(file) else None
    if csv_problem is not None:
        message = csv_problem
    elif "Malformed JSON" in message:
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


def _string_arrays(column: pa.Array) -> Iterator[pa.Array]:
    if pa.types.is_map(column.type):
        yield from _string_arrays(column.items)
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        yield column


def _check_swallowed_lines(file: StoredFile, batch: pa.RecordBatch, width: int) -> None:
    """A CSV value spanning lines that each look like a row of the file: a quote that never closed took them in.

    The lenient reader real exports need (mixed line ends, short rows) does not fail on an unclosed quote; it reads
    everything after it as one value, and those rows would be lost without a word.
    """
    if width < 3:
        return
    for name, column in zip(batch.schema.names, batch.columns):
        for values in _string_arrays(column):
            multiline = values.filter(pc.fill_null(pc.match_substring(values, "\n"), False))
            for value in multiline.to_pylist():
                if sum(line.count(",") >= width - 1 for line in value.splitlines()[1:]) >= 1:
                    raise ConversionError(
                        f"{file.uri}: {_broken_quoting()}; a value of column {name} runs over lines that look like rows "
                        "of the file, so a quote before them never closed and those rows would be lost"
                    )


def _one_unsplit_column(file: StoredFile, header: Header) -> bool:
    """DuckDB found a single column whose name holds commas: it could not split the CSV (typically a quote that
    never closes in the first lines, which defeats its dialect detection)."""
    return is_csv(file) and len(header) == 1 and "," in header[0][0]


def stream_file(
    connection: duckdb.DuckDBPyConnection,
    file: StoredFile,
    build_query: Callable[[Header], str],
    *,
    settings: Settings | None = None,
    encoding: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Run the query a reader builds from the file's header, as canonical batches. With `settings`, a CSV that
    cannot be read is looked at (its first bytes) to say why: compressed, not UTF-8, broken quoting."""
    file_started(file.uri)
    header: Header = []
    try:
        header = describe(connection, file, encoding)
        if _one_unsplit_column(file, header):
            raise ConversionError(f"{file.uri}: {_broken_quoting()}; the header could not be split into columns")
        reader = connection.sql(build_query(header)).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            if is_csv(file):
                _check_swallowed_lines(file, batch, len(header))
            yield batch.cast(schema.CONVERTED_SCHEMA) if batch.schema != schema.CONVERTED_SCHEMA else batch
    except (duckdb.Error, OSError) as error:
        # An error past the first batch reaches us through the Arrow stream, as an OSError carrying DuckDB's message.
        raise explain(connection, file, header, error, settings) from None
