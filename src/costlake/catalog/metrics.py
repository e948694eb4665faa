"""Usage metrics as rows: definitions and daily values per label set. What a value may hold is checked in
costlake.metrics; this module only stores and reads it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from costlake.catalog.database import Catalog
from costlake.catalog.models import Metric, MetricValue, utcnow
from costlake.errors import InvalidInput, NotFound


def labels_hash(labels: Mapping[str, str]) -> str:
    """The key of a label set: the same labels in any order give the same key."""
    return hashlib.sha256(json.dumps(dict(sorted(labels.items())), ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class ValueChange:
    """One day of one label set: a new value, or None to delete it."""

    day: date
    labels: dict[str, str]
    value: Decimal | None


def list_metrics(catalog: Catalog, tenant_id: str) -> list[Metric]:
    with catalog.session() as session:
        return list(session.scalars(select(Metric).where(Metric.tenant_id == tenant_id).order_by(Metric.name)))


def find_metric(catalog: Catalog, tenant_id: str, name: str) -> Metric | None:
    with catalog.session() as session:
        return session.scalars(select(Metric).where(Metric.tenant_id == tenant_id, Metric.name == name)).first()


def get_metric(catalog: Catalog, tenant_id: str, name: str) -> Metric:
    metric = find_metric(catalog, tenant_id, name)
    if metric is None:
        raise NotFound(f"no metric {name!r} in this tenant; `GET .../metrics` lists them")
    return metric


def insert_metric(catalog: Catalog, metric: Metric) -> Metric:
    try:
        with catalog.session() as session:
            session.add(metric)
    except IntegrityError:
        raise InvalidInput("name", f"a metric named {metric.name!r} already exists in this tenant; update it or choose another name") from None
    return metric


def update_metric(catalog: Catalog, tenant_id: str, name: str, changes: dict[str, Any]) -> Metric:
    metric_id = get_metric(catalog, tenant_id, name).id
    with catalog.session() as session:
        metric = session.get_one(Metric, metric_id)
        for field, value in changes.items():
            setattr(metric, field, value)
        metric.updated_at = utcnow()
    return metric


def delete_metric(catalog: Catalog, tenant_id: str, name: str) -> None:
    metric_id = get_metric(catalog, tenant_id, name).id
    with catalog.session() as session:
        session.delete(session.get_one(Metric, metric_id))


def _apply(session: Session, metric_id: str, changes: list[ValueChange]) -> tuple[int, int]:
    upserted = deleted = 0
    if not changes:
        return upserted, deleted
    now = utcnow()
    days = [change.day for change in changes]
    existing = {
        (row.day, row.labels_hash): row
        for row in session.scalars(
            select(MetricValue).where(MetricValue.metric_id == metric_id, MetricValue.day >= min(days), MetricValue.day <= max(days))
        )
    }
    for change in changes:
        key = (change.day, labels_hash(change.labels))
        row = existing.get(key)
        if change.value is None:
            if row is not None:
                session.delete(row)
                del existing[key]
                deleted += 1
        elif row is None:
            existing[key] = MetricValue(metric_id=metric_id, day=change.day, labels_hash=key[1], labels=change.labels, value=change.value, updated_at=now)
            session.add(existing[key])
            upserted += 1
        else:
            row.value, row.updated_at = change.value, now
            upserted += 1
    return upserted, deleted


def write_values(catalog: Catalog, metric_id: str, changes: list[ValueChange]) -> tuple[int, int]:
    """Upsert and delete in one transaction: (upserted, deleted). All of it lands, or none."""
    with catalog.session() as session:
        return _apply(session, metric_id, changes)


def replace_days(catalog: Catalog, metric_id: str, first: date, last: date, changes: list[ValueChange]) -> int:
    """Make [first, last] hold exactly `changes` (a pull's answer for those days), in one transaction."""
    with catalog.session() as session:
        session.execute(delete(MetricValue).where(MetricValue.metric_id == metric_id, MetricValue.day >= first, MetricValue.day <= last))
        session.flush()
        upserted, _ = _apply(session, metric_id, changes)
        return upserted


def read_values(catalog: Catalog, metric_id: str, start: date | None, end: date | None) -> list[MetricValue]:
    """Values of days in [start, end), by day then labels."""
    query = select(MetricValue).where(MetricValue.metric_id == metric_id)
    if start is not None:
        query = query.where(MetricValue.day >= start)
    if end is not None:
        query = query.where(MetricValue.day < end)
    with catalog.session() as session:
        return list(session.scalars(query.order_by(MetricValue.day, MetricValue.labels_hash)))


def latest_days(catalog: Catalog, tenant_id: str) -> dict[str, date]:
    """Each metric's latest day with a value."""
    query = (
        select(MetricValue.metric_id, func.max(MetricValue.day))
        .join(Metric, Metric.id == MetricValue.metric_id)
        .where(Metric.tenant_id == tenant_id)
        .group_by(MetricValue.metric_id)
    )
    with catalog.session() as session:
        return {metric_id: day for metric_id, day in session.execute(query).all()}


def read_series(catalog: Catalog, metric_id: str, start: date, end: date) -> list[tuple[date, dict[str, str], Decimal]]:
    """(day, labels, value) of days in [start, end): plain tuples, for the unit-cost step of a query."""
    query = select(MetricValue.day, MetricValue.labels, MetricValue.value).where(
        MetricValue.metric_id == metric_id, MetricValue.day >= start, MetricValue.day < end
    )
    with catalog.session() as session:
        return [(day, labels, value) for day, labels, value in session.execute(query).all()]
