"""Allocation rules in the catalog: one draft per tenant, numbered published versions (never changed once
written), and the cache of detected tag variants per cost-table version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from costlake.catalog.database import Catalog
from costlake.catalog.models import AllocationDraft, AllocationVersion, TagSuggestionCache, utcnow
from costlake.errors import Conflict


def get_draft(catalog: Catalog, tenant_id: str) -> AllocationDraft | None:
    with catalog.session() as session:
        return session.get(AllocationDraft, tenant_id)


def save_draft(catalog: Catalog, tenant_id: str, rules: dict[str, Any], base_version: int | None, by: str | None) -> AllocationDraft:
    with catalog.session() as session:
        draft = session.get(AllocationDraft, tenant_id)
        if draft is None:
            draft = AllocationDraft(tenant_id=tenant_id, rules=rules)
            session.add(draft)
        draft.rules, draft.base_version, draft.updated_at, draft.updated_by = rules, base_version, utcnow(), by
        return draft


def latest_version(catalog: Catalog, tenant_id: str) -> AllocationVersion | None:
    with catalog.session() as session:
        query = select(AllocationVersion).where(AllocationVersion.tenant_id == tenant_id).order_by(AllocationVersion.number.desc()).limit(1)
        return session.scalars(query).first()


def latest_number(catalog: Catalog, tenant_id: str) -> int | None:
    with catalog.session() as session:
        return session.scalar(select(func.max(AllocationVersion.number)).where(AllocationVersion.tenant_id == tenant_id))


def get_version(catalog: Catalog, tenant_id: str, number: int) -> AllocationVersion | None:
    with catalog.session() as session:
        query = select(AllocationVersion).where(AllocationVersion.tenant_id == tenant_id, AllocationVersion.number == number)
        return session.scalars(query).first()


def list_versions(catalog: Catalog, tenant_id: str) -> list[AllocationVersion]:
    """Newest first."""
    with catalog.session() as session:
        query = select(AllocationVersion).where(AllocationVersion.tenant_id == tenant_id).order_by(AllocationVersion.number.desc())
        return list(session.scalars(query))


def add_version(catalog: Catalog, tenant_id: str, rules: dict[str, Any], by: str | None) -> AllocationVersion:
    """Publish `rules` as the next number; the draft then says it is based on that version."""
    try:
        with catalog.session() as session:
            current = session.scalar(select(func.max(AllocationVersion.number)).where(AllocationVersion.tenant_id == tenant_id))
            version = AllocationVersion(tenant_id=tenant_id, number=(current or 0) + 1, rules=rules, published_at=utcnow(), published_by=by)
            session.add(version)
            draft = session.get(AllocationDraft, tenant_id)
            if draft is not None:
                draft.base_version = version.number
        return version
    except IntegrityError:
        raise Conflict("another admin published at the same moment; look at the versions and publish again if needed") from None


def get_suggestions(catalog: Catalog, tenant_id: str) -> TagSuggestionCache | None:
    with catalog.session() as session:
        return session.get(TagSuggestionCache, tenant_id)


def save_suggestions(catalog: Catalog, tenant_id: str, table_version: int, items: list[dict[str, Any]]) -> None:
    try:
        with catalog.session() as session:
            cache = session.get(TagSuggestionCache, tenant_id)
            if cache is None:
                cache = TagSuggestionCache(tenant_id=tenant_id, table_version=table_version, items=items)
                session.add(cache)
            cache.table_version, cache.items, cache.computed_at = table_version, items, utcnow()
    except IntegrityError:
        pass  # another process stored the same table version's suggestions first
