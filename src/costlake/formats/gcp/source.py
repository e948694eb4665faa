"""Format `gcp-billing-export`: Google Cloud's standard and detailed (resource-level) billing export.

Read from BigQuery (`bq://PROJECT.DATASET.TABLE`) or from copies of the table: Parquet or JSON lines with nested
fields, or CSV with dotted names. Every shape is converted by the same mapping (gcp_billing_mapping.py, rules in
docs/mappings/gcp.md); rows stream through DuckDB, nothing is held whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import duckdb
import pyarrow as pa

from costlake import schema
from costlake.duckdb_io import connect, sql_string
from costlake.formats.contract import ExportFormat, TenantFacts, file_started
from costlake.formats.conversion import (
    BATCH_ROWS,
    ConversionError,
    canonical_query,
    explain,
    scan,
)
from costlake.formats.gcp.bigquery import (
    LOOKBACK_OPTION,
    is_bigquery_uri,
    parse_table_uri,
    read_pages,
)
from costlake.formats.gcp.cud_enrichment import with_commitments
from costlake.formats.gcp.fields import Fields, register_functions
from costlake.formats.gcp.mapping import focus_columns, prepared_source
from costlake.months import MonthRange
from costlake.settings import Settings
from costlake.storage import StoredFile, list_files

NAME = "gcp-billing-export"
REQUIRED_FIELDS = ("billing_account_id", "cost", "currency", "usage_start_time")
SIGNATURE = "billing_account_id, cost, currency, usage_start_time, credits, invoice.month (BigQuery billing export)"
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
PAGE_VIEW = "costlake_gcp_page"


def looks_like_gcp_export(header: list[str]) -> bool:
    names = {name.strip().lower() for name in header}
    has_invoice = "invoice" in names or "invoice.month" in names
    return has_invoice and "credits" in names and all(field in names for field in REQUIRED_FIELDS)


def select_gcp_files(uri: str, settings: Settings, options: Mapping[str, str]) -> list[StoredFile]:
    """A BigQuery table is one "file" the reader queries; file URIs list as usual."""
    if is_bigquery_uri(uri):
        return [StoredFile(uri=parse_table_uri(uri).uri, size=0)]
    return list_files(uri, settings)


def _file_scan(file: StoredFile) -> str:
    if file.uri.lower().endswith(JSON_SUFFIXES):
        # Every row is sampled: the repeated fields are empty in most rows, and a short sample guesses their type wrong.
        return f"read_json({sql_string(file.uri)}, format = 'newline_delimited', sample_size = -1, hive_partitioning = false)"
    return scan(file)


def _message(error: duckdb.Error) -> str:
    return re.sub(r"^[A-Za-z ]+ Error: ", "", str(error).split("\n")[0])


def _convert(connection: duckdb.DuckDBPyConnection, source: str, label: str, months: MonthRange) -> Iterator[pa.RecordBatch]:
    """Canonical batches of one source relation (a file scan or a registered BigQuery page)."""
    fields = Fields(connection.sql(f"SELECT * FROM {source}"))
    missing = [field for field in REQUIRED_FIELDS if fields.get(field) is None]
    if missing:
        raise ConversionError(
            f"{label}: missing field(s) {', '.join(missing)}; expected a GCP billing export ({SIGNATURE}), nested as "
            "BigQuery writes it or flattened with dotted names"
        )
    query = canonical_query(focus_columns(fields), prepared_source(fields, source), months)
    for batch in connection.sql(query).to_arrow_reader(BATCH_ROWS):
        yield batch.cast(schema.CONVERTED_SCHEMA) if batch.schema != schema.CONVERTED_SCHEMA else batch


def _read_file(connection: duckdb.DuckDBPyConnection, file: StoredFile, months: MonthRange) -> Iterator[pa.RecordBatch]:
    source = _file_scan(file)
    try:
        yield from _convert(connection, source, file.uri, months)
    except duckdb.Error as error:
        if source.startswith("read_json"):
            raise ConversionError(f"{file.uri}: {_message(error)}") from None
        header = [(row[0], row[1]) for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        raise explain(connection, file, header, error) from None


def _read_table(
    connection: duckdb.DuckDBPyConnection, uri: str, months: MonthRange, options: Mapping[str, str]
) -> Iterator[pa.RecordBatch]:
    """Each result page in turn through the same mapping; the next page is fetched only when this one is done."""
    for page in read_pages(uri, months, options):
        connection.register(PAGE_VIEW, pa.Table.from_batches([page]))
        try:
            yield from _convert(connection, PAGE_VIEW, uri, months)
        except duckdb.Error as error:
            raise ConversionError(f"{uri}: {_message(error)}") from None
        finally:
            connection.unregister(PAGE_VIEW)


def read_gcp_billing(
    files: list[StoredFile], settings: Settings, months: MonthRange, options: Mapping[str, str]
) -> Iterator[pa.RecordBatch]:
    connection = connect(settings, [file.uri for file in files if not is_bigquery_uri(file.uri)])
    register_functions(connection)
    try:
        for file in files:
            file_started(file.uri)
            if is_bigquery_uri(file.uri):
                yield from _read_table(connection, file.uri, months, options)
            else:
                yield from _read_file(connection, file, months)
    finally:
        connection.close()


def _with_tenant_commitments(batches: Iterator[pa.RecordBatch], tenant: TenantFacts) -> Iterator[pa.RecordBatch]:
    """Commitment metadata (a gcp-cud-metadata source of the tenant) names the CUDs that cover these rows."""
    return with_commitments(batches, tenant.commitments())


GCP_BILLING_EXPORT = ExportFormat(
    name=NAME,
    label="Google Cloud billing export",
    docs="docs/mappings/gcp.md",
    read=read_gcp_billing,
    detect=looks_like_gcp_export,
    select_files=select_gcp_files,
    options=(LOOKBACK_OPTION,),
    signature=SIGNATURE,
    schemes=("bq",),
    enrich=_with_tenant_commitments,
)
