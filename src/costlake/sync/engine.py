"""Running one sync: list the export, convert it, stage the files, replace the months in one commit.

Whatever goes wrong, the store is left as it was and the run records why; a sync never half-replaces a month.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from costlake.catalog import Catalog
from costlake.catalog.commitments import list_commitments, replace_commitments
from costlake.catalog.locks import lake_commit_lock
from costlake.catalog.models import BillingSource, Commitment, SyncRun
from costlake.catalog.owners import process_owner
from costlake.catalog.runs import RunOutcome, finish_run
from costlake.catalog.sources import update_source
from costlake.credentials import CredentialError, export_settings, resolve_credential
from costlake.errors import CostlakeError
from costlake.formats.contract import AUTO, ExportFormat, MetadataFormat, files_reported_to
from costlake.formats.detection import detect_format
from costlake.formats.registry import format_owning, kind_of
from costlake.formats.vendors import Connector
from costlake.hooks import DEFAULT_HANDLERS, Handler, SyncCommitted, publish
from costlake.months import MonthRange
from costlake.settings import Settings
from costlake.storage import list_files, parse_uri
from costlake.store import Lake, StagedWrite
from costlake.streams import prefetch
from costlake.sync.access import check_source_access, readable_files
from costlake.sync.empty import months_in, no_rows_warning
from costlake.sync.lease import LeaseKeeper
from costlake.sync.limits import limit_field_sizes
from costlake.sync.plan import SyncPlan, plan_sync
from costlake.sync.progress import RunWatch, SyncCancelled
from costlake.text import money_text

log = logging.getLogger(__name__)


def worker_identity() -> str:
    return process_owner()


@dataclass
class SyncContext:
    settings: Settings
    catalog: Catalog
    lake: Lake
    owner: str = field(default_factory=worker_identity)
    handlers: Sequence[Handler] = DEFAULT_HANDLERS  # told after each commit (costlake.hooks)


def _billed_by_month(staged: StagedWrite) -> dict[str, dict[str, str]]:
    return {
        month: {currency: money_text(total) for currency, total in sorted(stats.billed_cost.items())}
        for month, stats in sorted(staged.months.items())
    }


def _warnings(staged: StagedWrite, read: _Read, loaded_before: set[str], initial_backfill: bool) -> list[str]:
    warnings = []
    vanished = [month for month in read.plan.scope if month in loaded_before and month not in staged.months]
    if vanished:
        warnings.append(
            f"the export has no rows for {', '.join(vanished)}, which the store holds; those months were kept "
            "as they were. If the provider really removed them, check the export and sync again with `from`"
        )
    undated = sorted(month for month, stats in staged.months.items() if stats.rows_without_billing_period)
    if undated:
        warnings.append(
            f"rows without BillingPeriodStart in {', '.join(undated)} were placed by the month of ChargePeriodStart"
        )
    if not staged.months and not vanished:
        try:
            held = read.held_months() if read.held_months else None
        except CostlakeError:  # the explanation must not fail a sync that read nothing wrong
            held = None
        warnings.append(no_rows_warning(read.plan, held, initial_backfill))
    return warnings


def _with_detected_format(context: SyncContext, source: BillingSource, settings: Settings) -> BillingSource:
    """A source added as `auto` before its export existed learns its format at its first sync, and keeps it."""
    owner = format_owning(parse_uri(source.source_uri).scheme)
    check_source_access(context.catalog, source, settings)
    files = owner.select_files(source.source_uri, settings, source.options) if owner else list_files(source.source_uri, settings)
    files = readable_files(source, settings, files)
    detected = detect_format(files, settings)
    return update_source(context.catalog, source.tenant_id, source.id, {"format": detected})


@dataclass
class _Read:
    """What a sync reads: canonical batches, how many files they come from, and warnings the reader adds."""

    plan: SyncPlan
    batches: Iterator[pa.RecordBatch]
    files: int = 0
    warnings: list[str] = field(default_factory=list)
    close: Callable[[], None] = lambda: None
    held_months: Callable[[], list[str]] | None = None  # every month the input holds, asked only when nothing was read


def _plan(source: BillingSource, run: SyncRun, settings: Settings, history_months: int | None = None) -> SyncPlan:
    return plan_sync(
        backfill=run.trigger == "backfill",
        from_date=run.from_date,
        window_months=source.window_months,
        initial_backfill_months=settings.initial_backfill_months,
        history_months=history_months,
    )


@dataclass
class _CatalogFacts:
    """What an enrichment step may ask about the tenant (formats.contract.TenantFacts), read when asked."""

    catalog: Catalog
    tenant_id: str

    def commitments(self) -> list[Commitment]:
        return list_commitments(self.catalog, self.tenant_id)


def _read_vendor(connector: Connector, source: BillingSource, run: SyncRun, settings: Settings) -> _Read:
    if not source.credential:
        raise CredentialError(f"this {source.provider} source has no credential; update it with one")
    secret = resolve_credential(source.credential, connector.credential_parts, settings)
    vendor_context = connector.open(settings, source.options, secret)
    plan = _plan(source, run, settings, connector.history_months)
    batches = connector.read(vendor_context, plan.read_range)
    return _Read(plan, batches, warnings=vendor_context.warnings, close=vendor_context.client.close)


def _read_export(source_format: ExportFormat, context: SyncContext, source: BillingSource, run: SyncRun) -> _Read:
    settings = export_settings(context.settings, source.storage_credential)
    check_source_access(context.catalog, source, settings)
    files = readable_files(source, settings, source_format.select_files(source.source_uri, settings, source.options))
    plan = _plan(source, run, settings)
    batches = source_format.read(files, settings, plan.read_range, source.options)
    if source_format.enrich is not None:
        batches = source_format.enrich(batches, _CatalogFacts(context.catalog, source.tenant_id))
    held = lambda: months_in(source_format.read(files, settings, MonthRange(), source.options))
    return _Read(plan, batches, files=len(files), held_months=held)


def _load_records(metadata: MetadataFormat, context: SyncContext, source: BillingSource) -> RunOutcome:
    """A metadata source stores commitments for its tenant instead of cost rows."""
    settings = export_settings(context.settings, source.storage_credential)
    check_source_access(context.catalog, source, settings)
    records = metadata.read_records(source.source_uri, settings, source.options)
    count = replace_commitments(context.catalog, source.tenant_id, source.id, records)
    return RunOutcome(status="succeeded" if count else "warning", row_count=count,
                      warnings=[] if count else ["the commitment metadata table holds no commitments"])


def _tell_handlers(context: SyncContext, event: SyncCommitted) -> None:
    """The commit stands whatever happens here: a failure to queue the event is logged, not raised."""
    try:
        publish(context.catalog, event, context.handlers)
    except Exception:
        log.exception("run %s committed, but its after-commit event could not be queued", event.run_id)


def run_sync(context: SyncContext, source: BillingSource, run: SyncRun) -> SyncRun:
    """Carry out a run that start_run created; returns the finished run."""
    settings = context.settings
    staged: StagedWrite | None = None
    read: _Read | None = None
    try:
        if source.format == AUTO:
            source = _with_detected_format(context, source, export_settings(settings, source.storage_credential))
        kind = kind_of(source.provider, source.format)
        if isinstance(kind, MetadataFormat):
            with LeaseKeeper(context.catalog, run.id, context.owner, settings.lease_duration):
                return finish_run(context.catalog, run.id, _load_records(kind, context, source))
        with LeaseKeeper(context.catalog, run.id, context.owner, settings.lease_duration) as lease:
            if isinstance(kind, Connector):
                read = _read_vendor(kind, source, run, settings)
            else:
                assert isinstance(kind, ExportFormat)
                read = _read_export(kind, context, source, run)
            watch = RunWatch(context.catalog, run.id, files=read.files or None)
            watch.flush(force=True)
            batches = limit_field_sizes(read.batches, settings.max_field_bytes)
            with files_reported_to(watch.file_started):
                staged = context.lake.stage(source.tenant_id, source.id, run.id, watch.batches(prefetch(batches)))
            loaded_before = context.lake.months_loaded(source.tenant_id, source.id)
            initial_backfill = run.trigger == "backfill" and run.from_date is None
            warnings = read.warnings + _warnings(staged, read, loaded_before, initial_backfill)
            outcome = RunOutcome(
                status="warning" if warnings else "succeeded",
                months=sorted(staged.months),
                row_count=staged.row_count,
                billed_cost_by_month=_billed_by_month(staged),
                files=read.files,
                warnings=warnings,
            )
            lease.check()
            watch.enter("committing")
            with lake_commit_lock(
                context.catalog, source.tenant_id, context.owner, lease=settings.lease_duration, timeout=settings.lease_duration * 5
            ):
                lease.confirm()  # under the lock the reaper also takes: either it sees our commit, or we see its verdict
                watch.flush(force=True)  # a cancel asked while waiting for the lock still stops it here
                if staged.months:
                    context.lake.replace_months(staged, sorted(staged.months), run.id, outcome.as_text())
            if staged.months:
                _tell_handlers(context, SyncCommitted(source.tenant_id, source.id, run.id, tuple(sorted(staged.months))))
    except Exception as error:
        if staged is not None:
            context.lake.discard(staged)
        known = isinstance(error, CostlakeError)
        message = str(error) if known else f"unexpected error: {type(error).__name__}: {error}"
        if not known:
            log.exception("sync %s of source %s failed", run.id, source.id)
        status = "cancelled" if isinstance(error, SyncCancelled) else "failed"
        outcome = RunOutcome(status=status, files=read.files if read else 0, error=message)
    finally:
        if read is not None:
            read.close()
    return finish_run(context.catalog, run.id, outcome)
