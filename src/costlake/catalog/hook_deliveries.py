"""The outbox of after-commit events: one row per (event, handler), claimed with a lease, retried with backoff."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from costlake.catalog.database import Catalog, rows_changed
from costlake.catalog.models import HookDelivery, utcnow


def enqueue(catalog: Catalog, tenant_id: str, event: str, payload: dict[str, Any], handlers: Iterable[str]) -> int:
    """Owe the event to each handler; returns how many deliveries were written."""
    rows = [HookDelivery(tenant_id=tenant_id, handler=name, event=event, payload=payload) for name in handlers]
    with catalog.session() as session:
        session.add_all(rows)
    return len(rows)


def claim_due(catalog: Catalog, owner: str, lease: timedelta, limit: int) -> list[HookDelivery]:
    """Claim up to `limit` deliveries that are due and not held by a live claim; each is claimed by one owner only."""
    now = utcnow()
    free = or_(HookDelivery.claimed_until.is_(None), HookDelivery.claimed_until < now)
    pending = (HookDelivery.done_at.is_(None), HookDelivery.gave_up_at.is_(None))
    with catalog.session() as session:
        candidates = list(
            session.scalars(
                select(HookDelivery.id).where(*pending, HookDelivery.next_attempt_at <= now, free)
                .order_by(HookDelivery.created_at).limit(limit)
            )
        )
    claimed = []
    for delivery_id in candidates:
        with catalog.session() as session:
            claim = (
                update(HookDelivery)
                .where(HookDelivery.id == delivery_id, *pending, free)
                .values(claimed_by=owner, claimed_until=now + lease, attempts=HookDelivery.attempts + 1)
            )
            if rows_changed(session.execute(claim)):
                claimed.append(session.get_one(HookDelivery, delivery_id))
    return claimed


def mark_done(catalog: Catalog, delivery_id: str) -> None:
    with catalog.session() as session:
        session.execute(update(HookDelivery).where(HookDelivery.id == delivery_id).values(done_at=utcnow(), claimed_until=None))


def mark_failed(catalog: Catalog, delivery_id: str, error: str, retry_in: timedelta | None) -> None:
    """Record the failure; retry after `retry_in`, or give up when it is None."""
    now = utcnow()
    values: dict[str, Any] = {"last_error": error[:2000], "claimed_until": None}
    values |= {"next_attempt_at": now + retry_in} if retry_in is not None else {"gave_up_at": now}
    with catalog.session() as session:
        session.execute(update(HookDelivery).where(HookDelivery.id == delivery_id).values(**values))


def deliveries(catalog: Catalog, tenant_id: str) -> list[HookDelivery]:
    with catalog.session() as session:
        query = select(HookDelivery).where(HookDelivery.tenant_id == tenant_id).order_by(HookDelivery.created_at)
        return list(session.scalars(query))
