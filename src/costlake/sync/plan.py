"""Which billing months a sync reads and replaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from costlake.months import MonthRange, add_months, current_month, month_of, month_span


@dataclass(frozen=True)
class SyncPlan:
    """Rows of months >= first are read; months first..current are checked for rows that vanished."""

    first: str
    current: str
    basis: str = ""  # why the sync starts at `first`, in words: "first-sync backfill of 12 months", ...

    @property
    def read_range(self) -> MonthRange:
        # No upper bound: a row billed in a future month is kept, not dropped silently.
        return MonthRange(first=self.first)

    @property
    def scope(self) -> list[str]:
        return month_span(self.first, self.current)


def plan_sync(
    *,
    backfill: bool,
    from_date: date | None,
    window_months: int,
    initial_backfill_months: int,
    history_months: int | None = None,
) -> SyncPlan:
    """`from` reloads from that month; a first sync (backfill) reloads the export's history up to a limit;
    every other sync reloads the trailing window (the current month and the ones before it). A vendor API keeps
    only `history_months`: nothing older is asked for (nor reported as vanished)."""
    current = current_month()
    if from_date is not None:
        first, basis = month_of(from_date), f"from {from_date.isoformat()}"
    elif backfill:
        first, basis = add_months(current, -(initial_backfill_months - 1)), f"first-sync backfill of {initial_backfill_months} months"
    else:
        first, basis = add_months(current, -(window_months - 1)), f"the source's window of {window_months} months"
    if history_months is not None and add_months(current, -(history_months - 1)) > first:
        first, basis = add_months(current, -(history_months - 1)), f"the {history_months} months the vendor keeps"
    return SyncPlan(first=first, current=current, basis=basis)
