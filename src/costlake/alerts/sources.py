"""Data notifications: a source's first data, a source failing twice in a row, a source whose data is late.

Each is a notice with a key that names the occurrence (the source; the first failed run of a streak; the data
moment that went stale), so it is told once however often the evaluation runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from costlake.alerts.series import SourceState, stale_after
from costlake.catalog import Catalog
from costlake.catalog.models import BillingSource
from costlake.catalog.runs import list_runs
from costlake.text import utc_text

FAILURES = 2


def _failed_streak(catalog: Catalog, source: BillingSource) -> list[Any]:
    runs, _ = list_runs(catalog, source.id, limit=10, cursor=None)
    streak = []
    for run in runs:
        if run.status in ("queued", "running"):
            continue
        if run.status != "failed":
            break
        streak.append(run)
    return streak


def data_notices(
    catalog: Catalog, sources: Sequence[BillingSource], states: dict[str, SourceState], now: datetime
) -> Iterator[tuple[str, str, BillingSource, dict[str, Any]]]:
    """(key, type, source, message data) for every data notice that is true now."""
    for source in sources:
        state = states.get(source.id)
        path = f"/data-health?source={source.id}"
        payload: dict[str, Any] = {"source_id": source.id, "source": source.name, "provider": source.provider, "format": source.format}
        if state and state.latest:
            payload["latest_data"] = utc_text(state.latest)
            yield (
                f"source:{source.id}:first_data", "source.first_data", source,
                {"title": f"First data from {source.name}", "summary": f"Billing source {source.name} delivered its first cost rows.",
                 "facts": [("Source", source.name), ("Provider", source.provider), ("Data up to", payload["latest_data"])],
                 "path": path, "payload": payload},
            )
        streak = _failed_streak(catalog, source)
        if len(streak) >= FAILURES:
            first = streak[-1]
            error = (streak[0].error or "")[:500]
            yield (
                f"source:{source.id}:failing:{first.id}", "source.failing", source,
                {"title": f"Billing source {source.name} is failing",
                 "summary": f"The last {len(streak)} syncs of {source.name} failed. Last error: {error}",
                 "facts": [("Source", source.name), ("Failed syncs", str(len(streak))), ("Since", utc_text(first.started_at))],
                 "path": path, "payload": {**payload, "failed_runs": len(streak), "error": error}},
            )
        limit = stale_after(source)
        if source.enabled and limit is not None and state and state.latest and now - state.latest > limit:
            hours = int((now - state.latest).total_seconds() // 3600)
            yield (
                f"source:{source.id}:stale:{utc_text(state.latest)}", "source.stale", source,
                {"title": f"Billing source {source.name} is late",
                 "summary": f"{source.name} has no cost data after {payload['latest_data']} "
                            f"({hours} h ago; expected within {int(limit.total_seconds() // 3600)} h).",
                 "facts": [("Source", source.name), ("Data up to", payload["latest_data"]), ("Hours late", str(hours))],
                 "path": path, "payload": {**payload, "hours": hours}},
            )
