"""Writing and replacing partitions of a tenant's Delta table.

A sync writes its Parquet files first (no lock needed: the names are unique to the run), then replaces the
affected (source, month) partitions in one Delta commit. Until that commit no reader sees the new files, and if
the sync fails the files are deleted; vacuum removes any a dead worker left behind.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction

from costlake import schema
from costlake.settings import Settings
from costlake.storage import StorageError, delta_storage_options, join_uri, list_files, open_output, parse_uri, remove_tree

ROWS_PER_FILE = 2_000_000
ROW_GROUP_ROWS = 256 * 1024
# Min/max statistics only where readers filter: time, money, and the dimensions queries slice by. Statistics on
# every text column cost a quarter of the write time and help no query.
# Dictionaries pay off for repeated text and timestamps; exact decimals are nearly all distinct, and encoding them
# was a large share of the writer's time.
DICTIONARY_COLUMNS = [field.name for field in schema.DATA_FILE_SCHEMA if field.type != schema.MONEY]
STATISTICS_COLUMNS = [
    "BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost",
    "ProviderName", "ServiceName", "SubAccountId", "RegionId", "ChargeCategory", "BillingCurrency",
]
# Commit metadata naming the sync run a commit lands, and its outcome.
RUN_ID_KEY = "costlake.runId"
RUN_OUTCOME_KEY = "costlake.runOutcome"
# Checkpoint the log every few commits so readers replay a short log; vacuum keeps files for time travel.
TABLE_CONFIGURATION = {"delta.checkpointInterval": "10"}


@dataclass
class MonthStats:
    rows: int = 0
    billed_cost: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    rows_without_billing_period: int = 0


@dataclass
class StagedWrite:
    """Files written for one sync and not yet committed, with what they hold per billing month."""

    tenant_id: str
    source_id: str
    actions: list[AddAction] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # every file created, committed or not
    months: dict[str, MonthStats] = field(default_factory=lambda: defaultdict(MonthStats))

    @property
    def row_count(self) -> int:
        return sum(stats.rows for stats in self.months.values())


class _MonthFile:
    """An open Parquet data file in one partition folder."""

    def __init__(self, lake_uri: str, relative_path: str, settings: Settings) -> None:
        self.relative_path = relative_path
        self.uri = join_uri(lake_uri, relative_path)
        self._stream = open_output(self.uri, settings)
        self._writer = pq.ParquetWriter(
            self._stream,
            schema.DATA_FILE_SCHEMA,
            compression="zstd",
            compression_level=1,
            use_dictionary=DICTIONARY_COLUMNS,
            write_statistics=STATISTICS_COLUMNS,
        )
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += table.num_rows

    def abandon(self) -> None:
        self._writer.close()
        self._stream.close()

    def close(self, partition_values: dict[str, str]) -> AddAction:
        self._writer.close()
        size = self._stream.tell()
        self._stream.close()
        stats = json.dumps({"numRecords": self.rows})
        return AddAction(self.relative_path, size, partition_values, int(time.time() * 1000), True, stats)


class Lake:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def table_uri(self, tenant_id: str) -> str:
        return join_uri(self.settings.lake_root, tenant_id)

    def _options(self) -> dict[str, str]:
        return delta_storage_options(self.settings.lake_root, self.settings)

    def open_table(self, tenant_id: str) -> DeltaTable | None:
        try:
            return DeltaTable(self.table_uri(tenant_id), storage_options=self._options())
        except TableNotFoundError:
            return None

    def has_commit(self, tenant_id: str, version: int) -> bool | None:
        """Whether commit `version` of the tenant's table exists, from one file check in a local lake (every commit
        writes its numbered log file); None in an object store, where the table's log must be asked."""
        location = parse_uri(self.table_uri(tenant_id))
        if location.scheme != "file":
            return None
        return os.path.exists(os.path.join(location.path, "_delta_log", f"{version:020d}.json"))

    def ensure_table(self, tenant_id: str) -> DeltaTable:
        """Create the tenant's table on first use; callers hold the tenant's commit lock."""
        table = self.open_table(tenant_id)
        if table is None:
            table = DeltaTable.create(
                self.table_uri(tenant_id),
                schema=schema.TABLE_SCHEMA,
                partition_by=schema.PARTITION_COLUMNS,
                configuration=TABLE_CONFIGURATION,
                storage_options=self._options(),
            )
        return table

    def stage(self, tenant_id: str, source_id: str, run_id: str, batches: Iterable[pa.RecordBatch]) -> StagedWrite:
        """Write converted batches as data files under the table, one folder per billing month."""
        staged = StagedWrite(tenant_id, source_id)
        table_uri = self.table_uri(tenant_id)
        open_files: dict[str, _MonthFile] = {}
        sequence = 0
        try:
            for batch in batches:
                for month, rows in self._split_by_month(batch):
                    self._count(staged.months[month], rows)
                    current = open_files.get(month)
                    if current is None:
                        folder = f"{schema.SOURCE_ID}={source_id}/{schema.BILLING_MONTH}={month}"
                        path = f"{folder}/part-{run_id}-{sequence:05d}.zstd.parquet"
                        staged.paths.append(path)
                        current = open_files[month] = _MonthFile(table_uri, path, self.settings)
                        sequence += 1
                    current.write(self._data_columns(rows, run_id))
                    if current.rows >= ROWS_PER_FILE:
                        staged.actions.append(current.close(self._partition(source_id, month)))
                        del open_files[month]
            for month, current in open_files.items():
                staged.actions.append(current.close(self._partition(source_id, month)))
            open_files.clear()
        except BaseException:
            for current in open_files.values():
                current.abandon()
            self.discard(staged)
            raise
        return staged

    @staticmethod
    def _split_by_month(batch: pa.RecordBatch) -> Iterator[tuple[str, pa.RecordBatch]]:
        months = batch.column(schema.BILLING_MONTH)
        bounds = pc.min_max(months)
        if bounds["min"] == bounds["max"]:  # the usual case: exports are laid out by month
            yield bounds["min"].as_py(), batch
            return
        for month in pc.unique(months).to_pylist():
            yield month, batch.filter(pc.equal(months, month))

    @staticmethod
    def _partition(source_id: str, month: str) -> dict[str, str]:
        return {schema.SOURCE_ID: source_id, schema.BILLING_MONTH: month}

    @staticmethod
    def _data_columns(rows: pa.RecordBatch, run_id: str) -> pa.Table:
        columns = {name: rows.column(name) for name in schema.FOCUS_COLUMNS}
        columns.update({name: rows.column(name) for name in schema.CONVERTED_EXTENSIONS})
        columns[schema.SYNC_RUN_ID] = pa.repeat(pa.scalar(run_id, pa.string()), rows.num_rows)
        return pa.Table.from_pydict(columns, schema=schema.DATA_FILE_SCHEMA)

    @staticmethod
    def _count(stats: MonthStats, rows: pa.RecordBatch) -> None:
        stats.rows += rows.num_rows
        stats.rows_without_billing_period += rows.column("BillingPeriodStart").null_count
        sums = pa.Table.from_batches([rows.select(["BillingCurrency", "BilledCost"])]).group_by("BillingCurrency")
        for entry in sums.aggregate([("BilledCost", "sum")]).to_pylist():
            stats.billed_cost[entry["BillingCurrency"] or "unknown"] += entry["BilledCost_sum"] or Decimal(0)

    def discard(self, staged: StagedWrite) -> None:
        """Delete the files of a sync that will not commit (best effort; vacuum catches the rest)."""
        table_uri = self.table_uri(staged.tenant_id)
        for path in staged.paths:
            try:
                remove_tree(join_uri(table_uri, path), self.settings)
            except StorageError:
                pass  # vacuum removes it later

    def replace_months(self, staged: StagedWrite, months: list[str], run_id: str, outcome: str) -> int:
        """One commit: drop the source's rows for `months` and add the staged files. Returns the new version.

        The commit carries the run's id and outcome (`outcome`: text the caller can read back), so that whether a
        run landed, and with what, can be read from the table itself (`committed_run`). The caller holds the
        tenant's commit lock.
        """
        table = self.ensure_table(staged.tenant_id)
        filters = [(schema.SOURCE_ID, "=", staged.source_id), (schema.BILLING_MONTH, "in", months)]
        actions: list[AddAction | RemoveAction] = [*staged.actions]
        table.create_write_transaction(
            actions, "overwrite", schema.TABLE_SCHEMA, schema.PARTITION_COLUMNS, filters,
            commit_properties=CommitProperties(custom_metadata={RUN_ID_KEY: run_id, RUN_OUTCOME_KEY: outcome}),
        )
        return table.version()

    def committed_run(self, tenant_id: str, run_id: str, since: datetime) -> str | None:
        """The outcome text of the commit that landed `run_id`, or None if no commit since `since` carries it."""
        table = self.open_table(tenant_id)
        if table is None:
            return None
        cutoff = since.timestamp() * 1000 - 60_000  # clocks of two hosts may differ a little
        for limit in (50, None):
            commits = table.history(limit)
            for commit in commits:
                if commit.get(RUN_ID_KEY) == run_id:
                    return str(commit.get(RUN_OUTCOME_KEY) or "")
            if not commits or commits[-1].get("timestamp", 0) < cutoff or (limit and len(commits) < limit):
                return None
        return None

    def discard_run(self, tenant_id: str, source_id: str, run_id: str) -> int:
        """Delete the files a run staged and never committed (its worker died). Returns how many."""
        pattern = join_uri(self.table_uri(tenant_id), f"{schema.SOURCE_ID}={source_id}/*/part-{run_id}-*.parquet")
        try:
            files = list_files(pattern, self.settings)
        except StorageError:
            return 0  # nothing staged
        staged = StagedWrite(tenant_id, source_id, paths=[file.uri[len(self.table_uri(tenant_id)) + 1 :] for file in files])
        self.discard(staged)
        return len(files)

    def delete_source(self, tenant_id: str, source_id: str) -> None:
        """Remove every row a source loaded, in one commit. The caller holds the tenant's commit lock."""
        table = self.open_table(tenant_id)
        if table is None:
            return
        if not table.file_uris([(schema.SOURCE_ID, "=", source_id)]):
            return
        table.create_write_transaction(
            [], "overwrite", schema.TABLE_SCHEMA, schema.PARTITION_COLUMNS, [(schema.SOURCE_ID, "=", source_id)]
        )

    def months_loaded(self, tenant_id: str, source_id: str) -> set[str]:
        table = self.open_table(tenant_id)
        if table is None:
            return set()
        partitions = table.partitions([(schema.SOURCE_ID, "=", source_id)])
        return {partition[schema.BILLING_MONTH] for partition in partitions}

    def data_files(self, tenant_id: str) -> list[str]:
        """The Parquet files of the table's current version, for DuckDB and other readers."""
        table = self.open_table(tenant_id)
        return [] if table is None else current_files(table)

    def housekeeping(self, tenant_id: str, retention: timedelta) -> list[str]:
        """Vacuum files no version within the retention needs (including files of syncs that died)."""
        table = self.open_table(tenant_id)
        if table is None:
            return []
        hours = max(int(retention.total_seconds() // 3600), 0)
        return table.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=False)


def current_files(table: DeltaTable) -> list[str]:
    """The Parquet files of the table's loaded version, as names DuckDB and fsspec open: Delta percent-encodes
    paths (a home in "/srv/cost data" is "/srv/cost%20data" in its log, and "%" itself "%25")."""
    return [unquote(uri) for uri in table.file_uris()]
