"""Reading a billing export table straight from BigQuery (`bq://PROJECT.DATASET.TABLE`), page by page.

The query selects only the sync window's invoice months and, on the ingestion-time partitioned tables Google
writes, prunes partitions by `_PARTITIONTIME` too (the export partitions rows by usage day; a correction keeps
the usage times of the row it corrects, hence the long look-back). Rows arrive as Arrow record batches, one REST
page at a time, with the same nested shape as a Parquet copy of the table, so the file mapping applies unchanged.
Credentials are Google's application default credentials; with BIGQUERY_EMULATOR_HOST set (a local emulator or
test double) the client sends none.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from costlake.errors import InvalidInput
from costlake.months import MonthRange
from costlake.storage import StorageError

if TYPE_CHECKING:
    from google.cloud import bigquery

SCHEME = "bq://"
PAGE_ROWS = 50_000
LOOKBACK_OPTION = "partition_lookback_days"
DEFAULT_LOOKBACK_DAYS = 366
# Project ids may be domain-scoped (example.com:project); dataset and table names never hold a dot.
_TABLE_URI = re.compile(r"bq://(?P<project>[a-z0-9][a-z0-9.:-]*)\.(?P<dataset>[A-Za-z0-9_]+)\.(?P<table>[A-Za-z0-9_-]+)")
URI_FORM = "bq://PROJECT.DATASET.TABLE, e.g. bq://my-project.billing.gcp_billing_export_resource_v1_0123AB_4567CD_89EF01"


@dataclass(frozen=True)
class TableRef:
    project: str
    dataset: str
    table: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.project}.{self.dataset}.{self.table}"

    @property
    def sql_name(self) -> str:
        # Safe to splice: the URI pattern admits no backquote, space or quote.
        return f"`{self.project}.{self.dataset}.{self.table}`"


def is_bigquery_uri(uri: str) -> bool:
    return uri.strip().lower().startswith(SCHEME)


def parse_table_uri(uri: str) -> TableRef:
    match = _TABLE_URI.fullmatch(uri.strip())
    if match is None:
        raise InvalidInput("source_uri", f"{uri!r} is not a BigQuery table; write {URI_FORM}")
    return TableRef(match["project"], match["dataset"], match["table"])


def _month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def _lookback_days(options: Mapping[str, str]) -> int:
    raw = options.get(LOOKBACK_OPTION, str(DEFAULT_LOOKBACK_DAYS))
    if not raw.isdigit():
        raise InvalidInput("options", f"{LOOKBACK_OPTION} must be a whole number of days, not {raw!r}")
    return int(raw)


def build_query(table: TableRef, months: MonthRange, partitioned: bool, lookback_days: int) -> tuple[str, list[Any]]:
    """The SELECT and its parameters: the window's invoice months, and the partitions that can hold them."""
    from google.cloud import bigquery

    where: list[str] = []
    parameters: list[Any] = []
    if months.first:
        where.append("invoice.month >= @first_month")
        parameters.append(bigquery.ScalarQueryParameter("first_month", "STRING", months.first.replace("-", "")))
    if months.last:
        where.append("invoice.month <= @last_month")
        parameters.append(bigquery.ScalarQueryParameter("last_month", "STRING", months.last.replace("-", "")))
    if partitioned and (months.first or months.last):
        bounds = []
        if months.first:
            start = _month_start(months.first) - timedelta(days=lookback_days)
            bounds.append("_PARTITIONTIME >= @partition_from")
            parameters.append(bigquery.ScalarQueryParameter("partition_from", "TIMESTAMP", _utc(start)))
        if months.last:
            last = _month_start(months.last)
            # The month after, plus a day: partitions are UTC days, invoice months Pacific ones.
            end = date(last.year + last.month // 12, last.month % 12 + 1, 1) + timedelta(days=1)
            bounds.append("_PARTITIONTIME < @partition_to")
            parameters.append(bigquery.ScalarQueryParameter("partition_to", "TIMESTAMP", _utc(end)))
        # Rows still in the streaming buffer have no partition yet.
        where.append(f"(_PARTITIONTIME IS NULL OR ({' AND '.join(bounds)}))")
    sql = f"SELECT * FROM {table.sql_name}" + (f" WHERE {' AND '.join(where)}" if where else "")
    return sql, parameters


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def bigquery_client(project: str) -> bigquery.Client:
    from google.cloud import bigquery

    if os.environ.get("BIGQUERY_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(project=project, credentials=AnonymousCredentials())
    return bigquery.Client(project=project)


def read_pages(uri: str, months: MonthRange, options: Mapping[str, str]) -> Iterator[pa.RecordBatch]:
    """The table's rows for the window, one Arrow batch per result page, fetched as they are consumed."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError
    from google.cloud import bigquery

    table = parse_table_uri(uri)
    lookback = _lookback_days(options)
    try:
        client = bigquery_client(table.project)
        metadata = client.get_table(f"{table.project}.{table.dataset}.{table.table}")
        partitioning = metadata.time_partitioning
        partitioned = partitioning is not None and partitioning.field is None  # ingestion time: _PARTITIONTIME
        sql, parameters = build_query(table, months, partitioned, lookback)
        job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=parameters))
        rows = job.result(page_size=PAGE_ROWS)
        yield from rows.to_arrow_iterable()
    except (GoogleAPIError, GoogleAuthError) as error:
        raise StorageError(
            f"{table.uri}: BigQuery refused the read ({type(error).__name__}: {error}). costlake uses Google's "
            "application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, or the workload identity); "
            "the identity needs roles/bigquery.jobUser on the project and roles/bigquery.dataViewer on the dataset"
        ) from None
