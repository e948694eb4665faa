"""Dashboard rows beyond the tenant-scoped lookups of catalog/tenant_rows.py: what the digest sender runs over."""

from __future__ import annotations

from sqlalchemy import select

from costlake.catalog.database import Catalog
from costlake.catalog.models import Digest


def all_enabled_digests(catalog: Catalog) -> list[Digest]:
    with catalog.session() as session:
        return list(session.scalars(select(Digest).where(Digest.enabled.is_(True)).order_by(Digest.created_at)))
