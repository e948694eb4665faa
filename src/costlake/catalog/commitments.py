"""A tenant's commitments (e.g. GCP spend-based CUDs) as rows, kept so cost rows can be enriched from them.

A metadata source's sync hands over a full snapshot: the source's commitments become exactly those records.
A commitment id is unique in a tenant; when two sources deliver the same commitment, the latest sync owns it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from costlake.catalog.database import Catalog
from costlake.catalog.models import BillingSource, Commitment, utcnow
from costlake.errors import NotFound

# The fields a record may carry; the row's own keys (id, tenant, source, updated_at) are set here.
RECORD_FIELDS = frozenset(
    {
        "commitment_id", "name", "category", "type", "product_name", "consumption_model", "billing_account_id",
        "region", "term", "amount", "amount_unit", "starts_at", "ends_at", "state",
    }
)  # fmt: skip


def _by_id(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each record with every field (absent ones None), by commitment id; the last record of an id wins."""
    by_id: dict[str, dict[str, Any]] = {}
    for record in records:
        unknown = set(record) - RECORD_FIELDS
        if unknown:
            raise ValueError(f"commitment record with unknown field(s) {', '.join(sorted(unknown))}; allowed: {sorted(RECORD_FIELDS)}")
        commitment_id = record.get("commitment_id")
        if not commitment_id:
            raise ValueError("commitment record without a commitment_id; every commitment needs the id cost rows carry")
        by_id[commitment_id] = {field: record.get(field) for field in RECORD_FIELDS}
    return by_id


def replace_commitments(catalog: Catalog, tenant_id: str, source_id: str, records: Iterable[Mapping[str, Any]]) -> int:
    """Make the source's commitments exactly `records`, in one transaction; returns how many it now has.

    Rows are updated in place (updated_at moves only when a value changed), so a snapshot that did not change
    leaves the catalog as it was."""
    wanted = _by_id(records)
    now = utcnow()
    with catalog.session() as session:
        source = session.get(BillingSource, source_id)
        if source is None or source.tenant_id != tenant_id:
            raise NotFound(f"no billing source {source_id!r} in this tenant")
        existing = {row.commitment_id: row for row in session.scalars(select(Commitment).where(Commitment.tenant_id == tenant_id))}
        for commitment_id, row in existing.items():
            if row.source_id == source_id and commitment_id not in wanted:
                session.delete(row)
        for commitment_id, values in wanted.items():
            current = existing.get(commitment_id)
            if current is None:
                session.add(Commitment(tenant_id=tenant_id, source_id=source_id, updated_at=now, **values))
                continue
            if current.source_id != source_id or any(getattr(current, field) != value for field, value in values.items()):
                for field, value in values.items():
                    setattr(current, field, value)
                current.source_id = source_id
                current.updated_at = now
    return len(wanted)


def list_commitments(catalog: Catalog, tenant_id: str) -> list[Commitment]:
    with catalog.session() as session:
        query = select(Commitment).where(Commitment.tenant_id == tenant_id).order_by(Commitment.commitment_id)
        return list(session.scalars(query))
