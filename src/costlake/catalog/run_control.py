"""What a running sync and the people watching it tell each other through the catalog: its progress, and a
request to cancel it. The run may be in any process sharing the catalog, so both go through its row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from costlake.catalog.database import Catalog, rows_changed
from costlake.catalog.models import SyncRun, utcnow
from costlake.errors import Conflict


def record_progress(catalog: Catalog, run_id: str, progress: dict[str, Any]) -> bool:
    """Store the run's progress; returns whether someone asked to cancel it."""
    with catalog.session() as session:
        run = session.get_one(SyncRun, run_id)
        run.progress = progress
        return run.cancel_requested_at is not None


def request_cancel(catalog: Catalog, run: SyncRun) -> SyncRun:
    """Ask a running run to stop before it commits; Conflict when it already ended."""
    with catalog.session() as session:
        changed = session.execute(
            update(SyncRun)
            .where(SyncRun.id == run.id, SyncRun.status.in_(("queued", "running")))
            .values(cancel_requested_at=utcnow())
        )
        current = session.get_one(SyncRun, run.id)
        session.refresh(current)
        if rows_changed(changed) != 1:
            raise Conflict(f"run {run.id} is not running (it ended as {current.status}); there is nothing to cancel", run_id=run.id)
        return current
