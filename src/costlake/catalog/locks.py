"""A lease-based lock per tenant table, so commits from several workers never race.

Object stores have no atomic rename, so Delta writers need an external lock; the catalog is the one
thing every worker shares.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from costlake.catalog.database import Catalog, rows_changed
from costlake.catalog.models import LakeLock, utcnow
from costlake.catalog.owners import owner_is_gone


def _try_acquire(catalog: Catalog, tenant_id: str, owner: str, lease: timedelta) -> bool:
    now = utcnow()
    with catalog.session() as session:
        current = session.get(LakeLock, tenant_id)
        if current is None:
            try:
                with session.begin_nested():
                    session.add(LakeLock(tenant_id=tenant_id))
            except IntegrityError:
                pass  # another worker created it first; fall through to the conditional update
        free = or_(LakeLock.owner.is_(None), LakeLock.expires_at < now)
        if current is not None and current.owner is not None and owner_is_gone(current.owner):
            free = or_(free, LakeLock.owner == current.owner)  # its holder died on this host: no need to wait
        result = session.execute(
            update(LakeLock)
            .where(LakeLock.tenant_id == tenant_id)
            .where(free)
            .values(owner=owner, expires_at=now + lease)
        )
        return rows_changed(result) == 1


def _release(catalog: Catalog, tenant_id: str, owner: str) -> None:
    with catalog.session() as session:
        session.execute(
            update(LakeLock)
            .where(LakeLock.tenant_id == tenant_id, LakeLock.owner == owner)
            .values(owner=None, expires_at=None)
        )


@contextmanager
def lake_commit_lock(
    catalog: Catalog, tenant_id: str, owner: str, *, lease: timedelta, timeout: timedelta
) -> Iterator[None]:
    """Hold the tenant's commit lock for the duration of the block; wait up to `timeout` for it.

    Not re-entrant: each holder is unique, so two threads of one worker exclude each other too.
    """
    owner = f"{owner}:{uuid.uuid4().hex[:12]}"
    deadline = time.monotonic() + timeout.total_seconds()
    while not _try_acquire(catalog, tenant_id, owner, lease):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the tenant's table stayed locked by another writer for {timeout}; retry the sync")
        time.sleep(0.2)
    try:
        yield
    finally:
        _release(catalog, tenant_id, owner)
