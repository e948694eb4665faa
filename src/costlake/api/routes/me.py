from __future__ import annotations

from fastapi import APIRouter

from costlake.api.auth import PrincipalDep, ServicesDep
from costlake.api.responses import SIGNED_IN
from costlake.api.schemas import Me
from costlake.catalog.tenants import find_tenant
from costlake.credentials.stored import tenant_env_prefix, tenant_external_id

router = APIRouter(prefix="/api/v1", tags=["identity"], responses=SIGNED_IN)


@router.get("/me", response_model=Me, summary="The tenant and role of the calling token")
def me(principal: PrincipalDep, services: ServicesDep) -> Me:
    tenant = find_tenant(services.catalog, principal.tenant_id) if principal.tenant_id else None
    return Me(
        tenant_id=principal.tenant_id,
        tenant_name=tenant.name if tenant else None,
        role=principal.role,
        token_id=principal.token_id,
        # The tenant's own names, for clients that help it fill in a source: the variables it may name as a
        # credential, and the external ID its AWS roles' trust policies must require.
        env_prefix=tenant_env_prefix(tenant.name) if tenant else None,
        external_id=tenant_external_id(tenant.id) if tenant else None,
    )
