"""What sync runs and metric pull runs share: a running run holds a lease its worker renews, and a thing (a source,
a pull) is due again one interval after its last run started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Subquery

from costlake.catalog.database import Catalog, rows_changed
from costlake.catalog.models import utcnow


def renew_lease(catalog: Catalog, run_model: Any, run_id: str, owner: str, lease: timedelta, **values: Any) -> bool:
    """Extend a running run's lease (and set `values` with it); False when the run is no longer ours: it ended, or
    someone else expired it."""
    with catalog.session() as session:
        result = session.execute(
            update(run_model)
            .where(run_model.id == run_id, run_model.lease_owner == owner, run_model.status == "running")
            .values(lease_expires_at=utcnow() + lease, **values)
        )
        return rows_changed(result) == 1


def last_started(subject: InstrumentedAttribute[str], started_at: InstrumentedAttribute[datetime]) -> Subquery:
    """Per subject (a run's source or pull id): when its newest run started, as columns `subject` and `started_at`."""
    return select(subject.label("subject"), func.max(started_at).label("started_at")).group_by(subject).subquery()


def interval_passed(started_at: datetime | None, interval: timedelta, now: datetime) -> bool:
    """Never ran, or the last run started at least `interval` ago. Compared in Python: the column comes back naive
    on SQLite and aware on PostgreSQL through a subquery."""
    return started_at is None or now - started_at.replace(tzinfo=UTC) >= interval
