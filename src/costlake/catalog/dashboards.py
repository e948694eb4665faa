"""Saved views, dashboards and digests as rows: the same tenant-scoped lookups and writes for each."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select

from costlake.catalog.database import Catalog
from costlake.catalog.models import Dashboard, Digest, SavedView, utcnow
from costlake.errors import NotFound

Row = TypeVar("Row", SavedView, Dashboard, Digest)
_WHAT = {SavedView: "saved view", Dashboard: "dashboard", Digest: "digest"}


def insert(catalog: Catalog, row: Row) -> Row:
    with catalog.session() as session:
        session.add(row)
    return row


def list_rows(catalog: Catalog, model: type[Row], tenant_id: str) -> list[Row]:
    with catalog.session() as session:
        return list(session.scalars(select(model).where(model.tenant_id == tenant_id).order_by(model.created_at, model.id)))


def get_row(catalog: Catalog, model: type[Row], tenant_id: str, row_id: str) -> Row:
    with catalog.session() as session:
        row = session.get(model, row_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"no {_WHAT[model]} {row_id!r} in this tenant")
    return row


def update_row(catalog: Catalog, model: type[Row], tenant_id: str, row_id: str, changes: dict[str, Any]) -> Row:
    get_row(catalog, model, tenant_id, row_id)
    with catalog.session() as session:
        row = session.get_one(model, row_id)
        for field, value in changes.items():
            setattr(row, field, value)
        if hasattr(row, "updated_at"):
            row.updated_at = utcnow()
        return row


def delete_row(catalog: Catalog, model: type[Row], tenant_id: str, row_id: str) -> None:
    get_row(catalog, model, tenant_id, row_id)
    with catalog.session() as session:
        session.delete(session.get_one(model, row_id))


def all_enabled_digests(catalog: Catalog) -> list[Digest]:
    with catalog.session() as session:
        return list(session.scalars(select(Digest).where(Digest.enabled.is_(True)).order_by(Digest.created_at)))
