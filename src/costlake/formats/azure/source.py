"""Azure Cost Management "cost and usage details" exports (actual and amortized) to canonical FOCUS rows.

Microsoft's own rules (FinOps toolkit, docs-mslearn/focus/convert.md) decide each column; docs/mappings/azure.md
has the table, the hard cases and where costlake deviates. In short:
- actual dataset: BilledCost is the cost (the invoice); commitment purchases and refunds get EffectiveCost 0.
- amortized dataset: EffectiveCost is the cost; covered usage and unused commitment get BilledCost 0 (their
  bill is the purchase row in the actual dataset).
- both for one billing month: every amortized row plus the actual rows that are commitment purchases or refunds
  (the other actual rows restate amortized ones and are left out), so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from costlake.duckdb_io import connect
from costlake.errors import InvalidInput
from costlake.formats.azure.columns import (
    AzureHeader,
    looks_like_azure_cost_details,
)
from costlake.formats.azure.deliveries import (
    Manifest,
    classify,
    select_files,
    sibling_manifest,
    told_dataset,
)
from costlake.formats.azure.lookups import register_lookups
from costlake.formats.azure.mapping import focus_columns
from costlake.formats.azure.rows import AMORTIZED_MONTHS, COMMITMENT_MODELS, UNUSED_TYPES, raw, source_sql
from costlake.formats.contract import ExportFormat, FilesChecked
from costlake.formats.conversion import (
    ConversionError,
    Header,
    canonical_query,
    describe,
    explain,
    scan,
    stream_file,
)
from costlake.months import MonthRange
from costlake.settings import Settings
from costlake.storage import StoredFile


@dataclass(frozen=True)
class _File:
    stored: StoredFile
    dataset: str  # actual | amortized
    manifest: Manifest | None


def _azure_header(file: StoredFile, header: Header) -> AzureHeader:
    azure = AzureHeader(header)
    missing = azure.missing_required()
    if missing:
        raise ConversionError(
            f"{file.uri}: missing {', '.join(missing)} (or another name for them); expected an Azure cost details "
            f"export with a cost, a date and a currency column (found: {', '.join(name for name, _ in header)[:300]})"
        )
    return azure


def build_query(file: StoredFile, header: Header, months: MonthRange, dataset: str, merging: bool = False) -> str:
    """The SELECT turning one file into canonical rows; with `merging`, an actual file keeps only its commitment
    purchases and refunds in the months the amortized dataset covers."""
    azure = _azure_header(file, header)
    return canonical_query(focus_columns(azure, dataset), source_sql(azure, scan(file), merging and dataset == "actual"), months)


def _plan(files: list[StoredFile], settings: Settings, options: Mapping[str, str]) -> list[_File]:
    manifests: dict[str, Manifest | None] = {}
    planned = []
    for file in files:
        folder = file.uri.rsplit("/", 1)[0]
        if folder not in manifests:
            manifests[folder] = sibling_manifest(file, settings)
        planned.append(_File(file, classify(file, manifests[folder], options), manifests[folder]))
    return planned


def _check_row_count(connection: duckdb.DuckDBPyConnection, file: _File) -> None:
    """A file its manifest counted must hold that many rows: fewer or more is a broken delivery."""
    if file.manifest is None:
        return
    expected = file.manifest.blob_rows.get(file.stored.uri.rsplit("/", 1)[1])
    if expected is None:
        return
    found = connection.sql(f"SELECT count(*) FROM {scan(file.stored)}").fetchall()[0][0]
    if found != expected:
        raise ConversionError(
            f"{file.stored.uri}: holds {found} data rows but its manifest {file.manifest.uri} says {expected}; "
            "the delivery is incomplete or was changed after export"
        )


def _amortized_months(connection: duckdb.DuckDBPyConnection, files: list[_File]) -> pa.Table:
    months: set[str] = set()
    for file in files:
        header: Header = []
        try:
            header = describe(connection, file.stored)
            rows = source_sql(_azure_header(file.stored, header), scan(file.stored), merging_actual=False)
            query = f"SELECT DISTINCT strftime(COALESCE(__cl_billing_start, __cl_start), '%Y-%m') FROM {rows}"
            months |= {row[0] for row in connection.sql(query).fetchall() if row[0] is not None}
        except duckdb.Error as error:
            raise explain(connection, file.stored, header, error) from None
    return pa.table({"month": pa.array(sorted(months), pa.string())})


def _query_builder(file: _File, months: MonthRange, merging: bool) -> Callable[[Header], str]:
    return lambda header: build_query(file.stored, header, months, file.dataset, merging)


def read_azure_cost(
    files: list[StoredFile], settings: Settings, months: MonthRange, options: Mapping[str, str]
) -> Iterator[pa.RecordBatch]:
    """Amortized files first, then actual ones; when both datasets are present, merged per Microsoft's rules."""
    connection = connect(settings, [file.uri for file in files])
    try:
        register_lookups(connection)
        planned = _plan(files, settings, options)
        amortized = [file for file in planned if file.dataset == "amortized"]
        actual = [file for file in planned if file.dataset == "actual"]
        merging = bool(amortized and actual)
        if merging:
            connection.register(AMORTIZED_MONTHS, _amortized_months(connection, amortized))
        for file in amortized + actual:
            _check_row_count(connection, file)
            yield from stream_file(connection, file.stored, _query_builder(file, months, merging))
    finally:
        connection.close()


def _holds_commitment_rows(connection: duckdb.DuckDBPyConnection, file: StoredFile) -> bool:
    """Reservation or savings-plan rows: the only rows whose cost differs between the actual and amortized datasets."""
    header = AzureHeader(describe(connection, file))
    condition = (
        f"lower({raw(header, 'pricing_model')}) IN {COMMITMENT_MODELS} OR lower({raw(header, 'charge_type')}) IN {UNUSED_TYPES} "
        f"OR {raw(header, 'benefit_id')} IS NOT NULL OR {raw(header, 'reservation_id')} IS NOT NULL"
    )
    return bool(connection.sql(f"SELECT 1 FROM {scan(file)} WHERE {condition} LIMIT 1").fetchall())


def check_azure_files(files: list[StoredFile], settings: Settings, options: Mapping[str, str]) -> FilesChecked:
    """A file nothing names the dataset of (no manifest type, neither word in its path, no option) fails at add time
    when it holds reservation or savings-plan rows; without them its actual and amortized costs are the same, so it
    is read as the actual dataset, and the source's options say so."""
    manifests: dict[str, Manifest | None] = {}

    def told(file: StoredFile) -> str | None:
        # The path or the option first: a run folder's manifest is read only when neither says (one read per folder).
        dataset = told_dataset(file, None, options)
        if dataset is None:
            folder = file.uri.rsplit("/", 1)[0]
            if folder not in manifests:
                manifests[folder] = sibling_manifest(file, settings)
            dataset = told_dataset(file, manifests[folder], options)
        return dataset

    try:
        undecided = [file for file in files if told(file) is None]
    except ConversionError as error:
        raise InvalidInput("options", str(error)) from None
    if not undecided:
        return FilesChecked(dict(options))
    connection = connect(settings, [file.uri for file in undecided])
    try:
        with_commitments = [file.uri for file in undecided if _holds_commitment_rows(connection, file)]
    except duckdb.Error as error:
        raise InvalidInput("source_uri", f"cannot read {undecided[0].uri}: {str(error).splitlines()[0]}") from None
    finally:
        connection.close()
    if with_commitments:
        raise InvalidInput(
            "options",
            f"{with_commitments[0]}: cannot tell whether this is the actual or the amortized cost dataset (no manifest "
            "with exportConfig.type, neither word in its path), and it holds reservation or savings-plan rows, whose "
            "costs differ between the two; set --option dataset=actual or --option dataset=amortized",
        )
    note = (
        f"{undecided[0].uri if len(undecided) == 1 else f'{len(undecided)} files'}: nothing says whether the actual or the "
        "amortized cost dataset; it holds no reservation or savings-plan rows, so both are the same: read as "
        "dataset=actual (saved in the source's options)"
    )
    return FilesChecked({**options, "dataset": "actual"}, [note])


AZURE_COST_DETAILS = ExportFormat(
    name="azure-cost-details",
    label="Azure cost details export",
    docs="docs/mappings/azure.md",
    read=read_azure_cost,
    detect=looks_like_azure_cost_details,
    select_files=select_files,
    options=("dataset",),
    check_files=check_azure_files,
    signature=(
        "a cost (CostInBillingCurrency, Cost or PreTaxCost), a date (Date or UsageDateTime) and MeterCategory, "
        "MeterId or ConsumedService, in any case or localized as 'Name (EnglishName)'"
    ),
)
