"""One log line when a sync starts and one when it ends, for operators watching `costlake serve` or `costlake worker`.

Each line carries its facts as `extra` fields too (event, tenant_id, source_id, source, run_id, trigger, months,
rows, status, seconds, error), so the JSON log format (COSTLAKE_LOG_FORMAT=json) has them as keys. Nothing here
holds a secret: sources are named by name and id, and run errors are already masked where they are made.
"""

from __future__ import annotations

import logging

from costlake.catalog.models import BillingSource, SyncRun
from costlake.sync.empty import month_ranges

log = logging.getLogger("costlake.sync")
# Shown where the process set logging up (serve, worker); elsewhere (the CLI running a sync in-process, which prints
# the run itself) nothing, rather than Python's last-resort printing of warnings onto the person's terminal.
log.addHandler(logging.NullHandler())


def _facts(source: BillingSource, run: SyncRun) -> dict[str, object]:
    return {"tenant_id": source.tenant_id, "source_id": source.id, "source": source.name, "run_id": run.id, "trigger": run.trigger}


def run_started(source: BillingSource, run: SyncRun) -> None:
    since = f", from {run.from_date.isoformat()}" if run.from_date else ""
    log.info(
        "sync started: source %r (%s), run %s, %s%s", source.name, source.id, run.id, run.trigger, since,
        extra={"event": "sync.started", **_facts(source, run), "from": run.from_date.isoformat() if run.from_date else None},
    )


def run_ended(source: BillingSource, run: SyncRun) -> None:
    seconds = round((run.finished_at - run.started_at).total_seconds(), 1) if run.finished_at else None
    months = month_ranges(run.months) if run.months else "no months"
    rows = run.row_count or 0
    level = logging.ERROR if run.status == "failed" else logging.WARNING if run.status in ("warning", "cancelled") else logging.INFO
    problem = run.error or "; ".join(run.warnings or [])
    log.log(
        level,
        "sync ended: source %r (%s), run %s, %s: %s, %d row%s, %ss%s",
        source.name, source.id, run.id, run.status, months, rows, "" if rows == 1 else "s", seconds,
        f": {problem}" if problem else "",
        extra={
            "event": "sync.ended", **_facts(source, run), "status": run.status, "months": run.months, "rows": rows,
            "seconds": seconds, "error": run.error, "warnings": run.warnings,
        },
    )
