"""Running one sync: list the export, convert it, stage the files, replace the months in one commit.

Whatever goes wrong, the store is left as it was and the run records why; a sync never half-replaces a month.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field

from costlake.catalog import Catalog
from costlake.catalog.locks import lake_commit_lock
from costlake.catalog.models import BillingSource, SyncRun
from costlake.catalog.runs import RunOutcome, finish_run
from costlake.errors import CostlakeError
from costlake.text import money_text
from costlake.settings import Settings
from costlake.catalog.sources import update_source
from costlake.sources.detection import AUTO, detect_format
from costlake.sources.registry import FORMATS, format_owning
from costlake.storage import StorageError, list_files, parse_uri
from costlake.store import Lake, StagedWrite
from costlake.streams import prefetch
from costlake.sync.lease import LeaseKeeper
from costlake.sync.plan import plan_sync

log = logging.getLogger(__name__)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class SyncContext:
    settings: Settings
    catalog: Catalog
    lake: Lake
    owner: str = field(default_factory=worker_identity)


def _billed_by_month(staged: StagedWrite) -> dict[str, dict[str, str]]:
    return {
        month: {currency: money_text(total) for currency, total in sorted(stats.billed_cost.items())}
        for month, stats in sorted(staged.months.items())
    }


def _warnings(staged: StagedWrite, scope: list[str], loaded_before: set[str]) -> list[str]:
    warnings = []
    vanished = [month for month in scope if month in loaded_before and month not in staged.months]
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
        warnings.append("the export holds no rows for the months this sync covers")
    return warnings


def _with_detected_format(context: SyncContext, source: BillingSource, settings: Settings) -> BillingSource:
    """A source added as `auto` before its export existed learns its format at its first sync, and keeps it."""
    if source.format != AUTO:
        return source
    owner = format_owning(parse_uri(source.source_uri).scheme)
    files = owner.select_files(source.source_uri, settings, source.options) if owner else list_files(source.source_uri, settings)
    detected = detect_format(files, settings)
    return update_source(context.catalog, source.tenant_id, source.id, {"format": detected})


def run_sync(context: SyncContext, source: BillingSource, run: SyncRun) -> SyncRun:
    """Carry out a run that start_run created; returns the finished run."""
    settings = context.settings
    staged: StagedWrite | None = None
    files_read = 0
    try:
        with LeaseKeeper(context.catalog, run.id, context.owner, settings.lease_duration) as lease:
            source = _with_detected_format(context, source, settings)
            source_format = FORMATS[source.format]
            files = source_format.select_files(source.source_uri, settings, source.options)
            files_read = len(files)
            plan = plan_sync(
                backfill=run.trigger == "backfill",
                from_date=run.from_date,
                window_months=source.window_months,
                initial_backfill_months=settings.initial_backfill_months,
            )
            batches = prefetch(source_format.read(files, settings, plan.read_range, source.options))
            staged = context.lake.stage(source.tenant_id, source.id, run.id, batches)
            loaded_before = context.lake.months_loaded(source.tenant_id, source.id)
            warnings = _warnings(staged, plan.scope, loaded_before)
            lease.check()
            with lake_commit_lock(
                context.catalog, source.tenant_id, context.owner, lease=settings.lease_duration, timeout=settings.lease_duration * 5
            ):
                lease.check()
                if staged.months:
                    context.lake.replace_months(staged, sorted(staged.months))
        outcome = RunOutcome(
            status="warning" if warnings else "succeeded",
            months=sorted(staged.months),
            row_count=staged.row_count,
            billed_cost_by_month=_billed_by_month(staged),
            files=files_read,
            warnings=warnings,
        )
    except Exception as error:  # noqa: BLE001 - a sync must end in a recorded run, whatever failed
        if staged is not None:
            context.lake.discard(staged)
        known = isinstance(error, (CostlakeError, StorageError))
        message = str(error) if known else f"unexpected error: {type(error).__name__}: {error}"
        if not known:
            log.exception("sync %s of source %s failed", run.id, source.id)
        outcome = RunOutcome(status="failed", files=files_read, error=message)
    return finish_run(context.catalog, run.id, outcome)
