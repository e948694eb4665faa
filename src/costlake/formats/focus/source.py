"""FOCUS exports (1.0-preview to 1.3, CSV or Parquet) to canonical record batches.

Each file is read by DuckDB with a SELECT built from its own header: names matched case-insensitively, legacy
names mapped where the current name is absent, text parsed into decimals, UTC timestamps and a tag map, and
every column costlake does not model kept in `x_Extensions`. Batches stream out; no file is held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial

import pyarrow as pa

from costlake import schema
from costlake.duckdb_io import connect, sql_identifier
from costlake.formats import expressions
from costlake.formats.contract import EXPORT_PROVIDERS, MULTICLOUD, ExportFormat
from costlake.formats.conversion import (
    ConversionError,
    Header,
    canonical_query,
    check_encoding,
    scan,
    stream_file,
)
from costlake.months import MonthRange
from costlake.settings import Settings
from costlake.storage import StoredFile


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


def looks_like_focus(header: list[str]) -> bool:
    matched, _ = map_columns(header)
    return all(name in matched for name in schema.REQUIRED_COLUMNS)


def _expression(name: str, column: str, duck_type: str) -> str:
    if name in schema.DECIMAL_COLUMNS:
        return expressions.decimal(column, duck_type)
    if name in schema.TIMESTAMP_COLUMNS:
        return expressions.timestamp(column, duck_type, name)
    if name in schema.MAP_COLUMNS:
        return expressions.tag_map(column, duck_type)
    return expressions.text(column, duck_type)


def build_query(file: StoredFile, header: Header, months: MonthRange, encoding: str | None = None) -> str:
    """The SELECT that turns one file into canonical rows. Built only from the file's own header, quoted."""
    types = dict(header)
    matched, unmatched = map_columns([name for name, _ in header])
    missing = [name for name in schema.REQUIRED_COLUMNS if name not in matched]
    if missing:
        raise ConversionError(
            f"{file.uri}: missing required FOCUS column(s) {', '.join(missing)}; expected a FOCUS 1.0-1.3 export "
            f"with BilledCost, ChargePeriodStart and BillingCurrency (found: {', '.join(types)[:300]})"
        )
    columns = {name: _expression(name, sql_identifier(source), types[source]) for name, source in matched.items()}
    columns[schema.EXTENSIONS] = expressions.extensions([(name, types[name]) for name in unmatched])
    return canonical_query(columns, scan(file, encoding), months)


def read_focus(
    files: list[StoredFile], settings: Settings, months: MonthRange, encoding: str | None = None
) -> Iterator[pa.RecordBatch]:
    """Every file in turn; the first bad file stops the read with a message naming it. CSV text is read as
    `encoding` (the source's option; default UTF-8)."""
    connection = connect(settings, [file.uri for file in files])
    try:
        for file in files:
            query = partial(build_query, file, months=months, encoding=encoding)
            yield from stream_file(connection, file, query, settings=settings, encoding=encoding)
    finally:
        connection.close()


def _read(files: list[StoredFile], settings: Settings, months: MonthRange, options: Mapping[str, str]) -> Iterator[pa.RecordBatch]:
    return read_focus(files, settings, months, options.get("encoding"))


FOCUS = ExportFormat(
    name="focus",
    label="FOCUS export",
    docs="docs/mappings.md",
    read=_read,
    detect=looks_like_focus,
    signature="BilledCost, ChargePeriodStart, BillingCurrency (FOCUS 1.0-1.3)",
    providers=(*EXPORT_PROVIDERS, MULTICLOUD),
    options=("encoding",),
    check_options=check_encoding,
)
