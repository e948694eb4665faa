"""Rows a tenant owns and manages by id (alert channels, budgets, monitors, anomalies, deliveries, saved views,
dashboards, digests): one set of tenant-scoped lookups and writes, so another tenant's id is always a 404."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from costlake.catalog.database import Catalog
from costlake.catalog.models import (
    AlertChannel,
    AlertDelivery,
    Anomaly,
    AnomalyMonitor,
    Budget,
    Dashboard,
    Digest,
    SavedView,
    utcnow,
)
from costlake.errors import InvalidInput, NotFound

LABELS: dict[type, str] = {
    AlertChannel: "channel",
    Budget: "budget",
    AnomalyMonitor: "anomaly monitor",
    Anomaly: "anomaly",
    AlertDelivery: "delivery",
    SavedView: "saved view",
    Dashboard: "dashboard",
    Digest: "digest",
}
Row = TypeVar("Row", AlertChannel, Budget, AnomalyMonitor, Anomaly, AlertDelivery, SavedView, Dashboard, Digest)


def get_row(catalog: Catalog, model: type[Row], tenant_id: str, row_id: str) -> Row:
    with catalog.session() as session:
        row = session.get(model, row_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"no {LABELS[model]} {row_id!r} in this tenant")
    return row


def list_rows(catalog: Catalog, model: type[Row], tenant_id: str) -> list[Row]:
    with catalog.session() as session:
        return list(session.scalars(select(model).where(model.tenant_id == tenant_id).order_by(model.created_at, model.id)))


def insert_row(catalog: Catalog, row: Row) -> Row:
    try:
        with catalog.session() as session:
            session.add(row)
    except IntegrityError:
        raise _name_taken(type(row), getattr(row, "name", None)) from None
    return row


def update_row(catalog: Catalog, model: type[Row], tenant_id: str, row_id: str, changes: dict[str, Any]) -> Row:
    get_row(catalog, model, tenant_id, row_id)
    try:
        with catalog.session() as session:
            row = session.get_one(model, row_id)
            for field, value in changes.items():
                setattr(row, field, value)
            if hasattr(row, "updated_at"):
                row.updated_at = utcnow()
    except IntegrityError:
        raise _name_taken(model, changes.get("name")) from None
    return row


def delete_row(catalog: Catalog, model: type[Row], tenant_id: str, row_id: str) -> None:
    get_row(catalog, model, tenant_id, row_id)
    with catalog.session() as session:
        session.delete(session.get_one(model, row_id))


def _name_taken(model: type, name: Any) -> InvalidInput:
    """The one constraint these rows have besides their tenant: a unique name."""
    return InvalidInput("name", f"a {LABELS[model]} named {name!r} already exists in this tenant; choose another name")
