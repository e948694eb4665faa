"""/api/v1/tenants/{tenant_id}/commitments: the tenant's commitments from provider metadata; any member may read."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from costlake.api.auth import ServicesDep, TenantDep
from costlake.api.responses import TENANT
from costlake.api.schemas import CommitmentOut
from costlake.catalog.commitments import list_commitments
from costlake.catalog.models import Commitment

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/commitments", tags=["commitments"], responses=TENANT)


def _amount_text(amount: Decimal | None) -> str | None:
    """Exact and plain: 100, not 1E+2 or 100.000000000000000000 (the catalog's scale)."""
    if amount is None:
        return None
    return format(amount.normalize(), "f")


def _out(commitment: Commitment) -> CommitmentOut:
    return CommitmentOut(
        commitment_id=commitment.commitment_id,
        source_id=commitment.source_id,
        name=commitment.name,
        category=commitment.category,
        type=commitment.type,
        product_name=commitment.product_name,
        consumption_model=commitment.consumption_model,
        billing_account_id=commitment.billing_account_id,
        region=commitment.region,
        term=commitment.term,
        amount=_amount_text(commitment.amount),
        amount_unit=commitment.amount_unit,
        starts_at=commitment.starts_at,
        ends_at=commitment.ends_at,
        state=commitment.state,
        updated_at=commitment.updated_at,
    )


@router.get("", response_model=list[CommitmentOut], summary="The tenant's commitments (e.g. GCP spend-based CUDs)")
def get_commitments(tenant: TenantDep, services: ServicesDep) -> list[CommitmentOut]:
    return [_out(commitment) for commitment in list_commitments(services.catalog, tenant.id)]
