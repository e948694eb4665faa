"""Billing sources as rows: tenant-scoped lookups and writes. Validation of what a row may hold lives in
costlake.billing_sources.service; this module only stores it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from costlake.catalog.database import Catalog
from costlake.catalog.models import BillingSource, utcnow
from costlake.catalog.recent import forget, recalled, remember
from costlake.errors import Conflict, CostlakeError, InvalidInput, NotFound


def list_sources(catalog: Catalog, tenant_id: str) -> list[BillingSource]:
    with catalog.session() as session:
        query = select(BillingSource).where(BillingSource.tenant_id == tenant_id).order_by(BillingSource.created_at)
        return list(session.scalars(query))


def source_names(catalog: Catalog, tenant_id: str) -> dict[str, str]:
    """Id -> name of the tenant's sources, for answers that show names (asked per query: kept a few seconds)."""
    with catalog.session() as session:
        rows = session.execute(select(BillingSource.id, BillingSource.name).where(BillingSource.tenant_id == tenant_id)).tuples()
        names = dict(rows.all())
    remember(("source names", tenant_id), names)
    return names


def recent_source_names(tenant_id: str) -> dict[str, str] | None:
    """What source_names answered a moment ago (no catalog read)."""
    return recalled(("source names", tenant_id))


def get_source(catalog: Catalog, tenant_id: str, source_id: str) -> BillingSource:
    with catalog.session() as session:
        source = session.get(BillingSource, source_id)
    if source is None or source.tenant_id != tenant_id:
        raise NotFound(f"no billing source {source_id!r} in this tenant")
    return source


def find_source_by_name(catalog: Catalog, tenant_id: str, name: str) -> BillingSource | None:
    with catalog.session() as session:
        query = select(BillingSource).where(BillingSource.tenant_id == tenant_id, BillingSource.name == name)
        return session.scalars(query).first()


def storage_claim_elsewhere(catalog: Catalog, tenant_id: str, claim: str) -> bool:
    """Whether another tenant's source reads as the principal this claim fingerprints."""
    with catalog.session() as session:
        query = select(BillingSource.storage_credential).where(
            BillingSource.tenant_id != tenant_id, BillingSource.storage_credential.is_not(None)
        )
        return any(stored and stored.get("claim") == claim for stored in session.scalars(query))


_NOT_NULL = re.compile(r'NOT NULL constraint failed: \w+\.(\w+)|null value in column "(\w+)"')


def _cause(error: IntegrityError, name: str) -> CostlakeError:
    """What an integrity error really means (SQLite and PostgreSQL word them differently)."""
    message = str(error.orig)
    if (missing := _NOT_NULL.search(message)) is not None:
        field = missing[1] or missing[2]
        return InvalidInput(field, f"{field} cannot be null; leave it out to keep the current value")
    if "ux_billing_sources_tenant_name" in message or "billing_sources.tenant_id, billing_sources.name" in message:
        return InvalidInput("name", f"a billing source named {name!r} already exists in this tenant; choose another name")
    if "foreign key" in message.lower():
        return NotFound("the tenant of this billing source no longer exists")
    return Conflict(f"the catalog refused this change ({message.splitlines()[0]}); reload the source and try again")


def insert_source(catalog: Catalog, source: BillingSource) -> BillingSource:
    try:
        with catalog.session() as session:
            session.add(source)
    except IntegrityError as error:
        raise _cause(error, source.name) from None
    forget()
    return source


def update_source(catalog: Catalog, tenant_id: str, source_id: str, changes: dict[str, Any]) -> BillingSource:
    get_source(catalog, tenant_id, source_id)
    try:
        with catalog.session() as session:
            source = session.get_one(BillingSource, source_id)
            for field, value in changes.items():
                setattr(source, field, value)
            source.updated_at = utcnow()
    except IntegrityError as error:
        raise _cause(error, changes.get("name", "")) from None
    forget()
    return source


def delete_source(catalog: Catalog, tenant_id: str, source_id: str) -> None:
    get_source(catalog, tenant_id, source_id)
    with catalog.session() as session:
        session.delete(session.get_one(BillingSource, source_id))
    forget()
