"""Saying why a sync loaded nothing: which months the export holds, which the sync covered, and what to do.

Only asked when a sync read no rows at all, the case a newcomer meets with an older sample export: the export is
read once more without a month bound, keeping only each batch's billing months.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from costlake import schema
from costlake.months import add_months
from costlake.sync.plan import SyncPlan


def months_in(batches: Iterable[pa.RecordBatch]) -> list[str]:
    """The billing months the batches hold, sorted."""
    months: set[str] = set()
    for batch in batches:
        months.update(month for month in pc.unique(batch.column(schema.BILLING_MONTH)).to_pylist() if month)
    return sorted(months)


def month_ranges(months: list[str]) -> str:
    """["2024-09", "2024-10", "2024-11", "2025-02"] -> "2024-09..2024-11, 2025-02"."""
    spans: list[list[str]] = []
    for month in sorted(months):
        if spans and add_months(spans[-1][-1], 1) == month:
            spans[-1].append(month)
        else:
            spans.append([month])
    return ", ".join(span[0] if len(span) == 1 else f"{span[0]}..{span[-1]}" for span in spans)


def no_rows_warning(plan: SyncPlan, held: list[str] | None, initial_backfill: bool) -> str:
    """The run's warning when nothing was read. `held` is what the export holds (None: not known, e.g. a vendor API);
    `initial_backfill` says whether COSTLAKE_INITIAL_BACKFILL_MONTHS decided the first month."""
    covered = f"this sync covered {plan.first}..{plan.current} ({plan.basis})"
    if held is None:
        return f"the source returned no rows: {covered}"
    if not held:
        return f"the export holds no rows at all; {covered}. Check that the source URI points at the export's data files"
    fix = f"sync with from {held[0]}-01 (`costlake billing-source sync --from {held[0]}-01`, or the console's Sync from)"
    if initial_backfill:
        fix += " or set COSTLAKE_INITIAL_BACKFILL_MONTHS to reach further back on a first sync"
    return f"the export holds {month_ranges(held)}; {covered}, so nothing was loaded. To load the older months, {fix}"
