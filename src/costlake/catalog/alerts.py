"""Alert rows: channels, budgets, anomaly monitors, anomalies, notices and their deliveries, evaluation leases.

What a row may hold is checked in costlake.alerts / costlake.notify; this module only stores and finds rows, always
within one tenant. Two guarantees live here because only the database can give them across workers: one evaluation
per tenant at a time (a lease row, like sync runs), and each notice recorded once per key (a unique index).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from costlake.catalog.database import Catalog, rows_changed
from costlake.catalog.models import (
    AlertChannel,
    AlertDelivery,
    AlertEvaluation,
    AlertNotice,
    Anomaly,
    AnomalyMonitor,
    utcnow,
)
from costlake.errors import InvalidInput

Paged = TypeVar("Paged", Anomaly, AlertDelivery)


def find_default_monitor(catalog: Catalog, tenant_id: str) -> AnomalyMonitor | None:
    with catalog.session() as session:
        query = select(AnomalyMonitor).where(AnomalyMonitor.tenant_id == tenant_id, AnomalyMonitor.is_default.is_(True))
        return session.scalars(query).first()


def insert_default_monitor(catalog: Catalog, monitor: AnomalyMonitor) -> None:
    """Insert unless a monitor of that name exists already (two workers may both try on a first sync)."""
    try:
        with catalog.session() as session:
            session.add(monitor)
    except IntegrityError:
        pass


# Paging: keyset on (created_at, id), newest first; the cursor is opaque to clients.


def _encode_cursor(created_at: datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), row_id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created_at), str(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor", "invalid cursor; pass the next_cursor of the previous page unchanged") from exc


def _page(catalog: Catalog, model: type[Paged], conditions: list[Any], limit: int, cursor: str | None) -> tuple[list[Paged], str | None]:
    query = select(model).where(*conditions)
    if cursor:
        created_at, row_id = _decode_cursor(cursor)
        query = query.where(or_(model.created_at < created_at, and_(model.created_at == created_at, model.id < row_id)))
    with catalog.session() as session:
        rows = list(session.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    return rows[:limit], _encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if more else None


def list_anomalies(
    catalog: Catalog, tenant_id: str, *, status: str | None, monitor_id: str | None, limit: int, cursor: str | None
) -> tuple[list[Anomaly], str | None]:
    conditions: list[Any] = [Anomaly.tenant_id == tenant_id]
    if status:
        conditions.append(Anomaly.status == status)
    if monitor_id:
        conditions.append(Anomaly.monitor_id == monitor_id)
    return _page(catalog, Anomaly, conditions, limit, cursor)


def list_deliveries(
    catalog: Catalog, tenant_id: str, *, channel_id: str | None, status: str | None, limit: int, cursor: str | None
) -> tuple[list[AlertDelivery], str | None]:
    conditions: list[Any] = [AlertDelivery.tenant_id == tenant_id]
    if channel_id:
        conditions.append(AlertDelivery.channel_id == channel_id)
    if status:
        conditions.append(AlertDelivery.status == status)
    return _page(catalog, AlertDelivery, conditions, limit, cursor)


def series_anomalies(catalog: Catalog, monitor_id: str) -> list[Anomaly]:
    with catalog.session() as session:
        return list(session.scalars(select(Anomaly).where(Anomaly.monitor_id == monitor_id).order_by(Anomaly.start_date)))


def save_anomaly(catalog: Catalog, anomaly: Anomaly) -> Anomaly:
    with catalog.session() as session:
        return session.merge(anomaly)


def notices_of(catalog: Catalog, subject_id: str) -> list[AlertNotice]:
    with catalog.session() as session:
        query = select(AlertNotice).where(AlertNotice.subject_id == subject_id).order_by(AlertNotice.created_at)
        return list(session.scalars(query))


# Notices and deliveries.


def record_notice(catalog: Catalog, notice: AlertNotice, channel_ids: Sequence[str]) -> AlertNotice | None:
    """Record the notice and owe it to each channel, in one transaction; None when its key was recorded before."""
    try:
        with catalog.session() as session:
            session.add(notice)
            session.flush()
            session.add_all(AlertDelivery(tenant_id=notice.tenant_id, notice_id=notice.id, channel_id=cid) for cid in channel_ids)
    except IntegrityError:
        return None
    return notice


def record_sent(catalog: Catalog, notice: AlertNotice, channel_id: str, status_code: int | None, spacing: timedelta) -> None:
    """Log a message that was already sent once (a channel's test message on create) as a sent delivery; the
    channel's next message waits `spacing` (its rate limit)."""
    now = utcnow()
    with catalog.session() as session:
        session.add(notice)
        session.flush()
        session.add(AlertDelivery(tenant_id=notice.tenant_id, notice_id=notice.id, channel_id=channel_id, status="sent", attempts=1,
                                  last_status_code=status_code, next_attempt_at=None, sent_at=now))
        channel = session.get_one(AlertChannel, channel_id)
        channel.last_success_at, channel.next_send_at = now, now + spacing


def claim_due_deliveries(catalog: Catalog, lease: timedelta, limit: int, tenant_id: str | None = None) -> list[AlertDelivery]:
    """Deliveries waiting to be sent, each claimed by one worker only."""
    now = utcnow()
    free = or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now)
    due = (AlertDelivery.status == "retrying", AlertDelivery.next_attempt_at <= now)
    scope = (AlertDelivery.tenant_id == tenant_id,) if tenant_id else ()
    with catalog.session() as session:
        ids = list(session.scalars(select(AlertDelivery.id).where(*due, *scope, free).order_by(AlertDelivery.created_at).limit(limit)))
    claimed = []
    for delivery_id in ids:
        with catalog.session() as session:
            claim = update(AlertDelivery).where(AlertDelivery.id == delivery_id, *due, free).values(claimed_until=now + lease)
            if rows_changed(session.execute(claim)):
                claimed.append(session.get_one(AlertDelivery, delivery_id))
    return claimed


def finish_attempt(
    catalog: Catalog, delivery_id: str, *, status: str, status_code: int | None, error: str | None, retry_at: datetime | None
) -> AlertDelivery:
    """Record one attempt; the channel's health follows (failing since its first failure after a success)."""
    now = utcnow()
    with catalog.session() as session:
        delivery = session.get_one(AlertDelivery, delivery_id)
        delivery.attempts += 1
        delivery.status, delivery.last_status_code, delivery.last_error = status, status_code, error
        delivery.next_attempt_at, delivery.claimed_until = retry_at, None
        if status == "sent":
            delivery.sent_at = now
        channel = session.get(AlertChannel, delivery.channel_id)
        if channel is not None:
            if status == "sent":
                channel.last_success_at, channel.failing_since, channel.last_error = now, None, None
            else:
                channel.failing_since = channel.failing_since or now
                channel.last_error = error
        return delivery


def postpone(catalog: Catalog, delivery_id: str, until: datetime) -> None:
    """Put a claimed delivery back without counting an attempt (its channel's rate limit said: not yet)."""
    with catalog.session() as session:
        session.execute(update(AlertDelivery).where(AlertDelivery.id == delivery_id).values(next_attempt_at=until, claimed_until=None))


def take_send_slot(catalog: Catalog, channel_id: str, spacing: timedelta) -> datetime | None:
    """Reserve the channel's next send slot across workers; None when it is free now, else when it frees."""
    now = utcnow()
    with catalog.session() as session:
        taken = update(AlertChannel).where(
            AlertChannel.id == channel_id, or_(AlertChannel.next_send_at.is_(None), AlertChannel.next_send_at <= now)
        ).values(next_send_at=now + spacing)
        if rows_changed(session.execute(taken)):
            return None
        channel = session.get_one(AlertChannel, channel_id)
        return channel.next_send_at


def notice_and_channel(catalog: Catalog, delivery: AlertDelivery) -> tuple[AlertNotice, AlertChannel]:
    with catalog.session() as session:
        return session.get_one(AlertNotice, delivery.notice_id), session.get_one(AlertChannel, delivery.channel_id)


# One evaluation per tenant at a time.


def _ensure_evaluation_row(catalog: Catalog, tenant_id: str) -> None:
    with catalog.session() as session:
        if session.get(AlertEvaluation, tenant_id) is not None:
            return
    try:
        with catalog.session() as session:
            session.add(AlertEvaluation(tenant_id=tenant_id))
    except IntegrityError:
        pass  # another worker made it


def request_evaluation(catalog: Catalog, tenant_id: str) -> None:
    """Ask for an evaluation at the next scheduler tick (after a sync changed the tenant's store)."""
    _ensure_evaluation_row(catalog, tenant_id)
    with catalog.session() as session:
        session.execute(update(AlertEvaluation).where(AlertEvaluation.tenant_id == tenant_id).values(requested_at=utcnow()))


def claim_evaluation(catalog: Catalog, tenant_id: str, owner: str, lease: timedelta) -> bool:
    _ensure_evaluation_row(catalog, tenant_id)
    now = utcnow()
    with catalog.session() as session:
        claim = (
            update(AlertEvaluation)
            .where(AlertEvaluation.tenant_id == tenant_id)
            .where(or_(AlertEvaluation.owner.is_(None), AlertEvaluation.lease_expires_at < now))
            .values(owner=owner, lease_expires_at=now + lease, last_started_at=now)
        )
        return rows_changed(session.execute(claim)) == 1


def release_evaluation(catalog: Catalog, tenant_id: str, owner: str, error: str | None) -> None:
    with catalog.session() as session:
        session.execute(
            update(AlertEvaluation)
            .where(AlertEvaluation.tenant_id == tenant_id, AlertEvaluation.owner == owner)
            .values(owner=None, lease_expires_at=None, last_finished_at=utcnow(), last_error=error)
        )


def due_evaluations(catalog: Catalog, tenant_ids: Sequence[str], every: timedelta) -> list[str]:
    """Tenants asked for since their last start, or not evaluated within `every`."""
    now = utcnow()
    with catalog.session() as session:
        rows = {row.tenant_id: row for row in session.scalars(select(AlertEvaluation))}
    due = []
    for tenant_id in tenant_ids:
        row = rows.get(tenant_id)
        if row is None or row.last_started_at is None or now - row.last_started_at >= every:
            due.append(tenant_id)
        elif row.requested_at is not None and row.requested_at >= row.last_started_at:
            due.append(tenant_id)
    return due


def notices_by_id(catalog: Catalog, notice_ids: Sequence[str]) -> dict[str, AlertNotice]:
    if not notice_ids:
        return {}
    with catalog.session() as session:
        return {notice.id: notice for notice in session.scalars(select(AlertNotice).where(AlertNotice.id.in_(set(notice_ids))))}
