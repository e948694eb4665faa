"""Who is calling, and which tenant they may see.

A token sees only its own tenant; any other tenant answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from costlake.api.session import CONSOLE_HEADER, SESSION_COOKIE
from costlake.catalog.models import Tenant
from costlake.catalog.tenants import authenticate, find_tenant, recent_tenant, recent_token
from costlake.errors import Forbidden, NotFound
from costlake.services import Services


@dataclass(frozen=True)
class Principal:
    tenant_id: str | None  # None: the operator, who sees every tenant
    role: str  # "admin" | "member" | "operator"
    token_id: str | None = None

    @property
    def operator(self) -> bool:
        return self.role == "operator"

    @property
    def admin(self) -> bool:
        return self.role in ("admin", "operator")


OPERATOR = Principal(tenant_id=None, role="operator")
_bearer = HTTPBearer(auto_error=False, description="An API token from `costlake token create`")
# Cookie-authenticated requests that change something must also carry CONSOLE_HEADER (api/session.py), which a
# cross-site form or script cannot add.
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_services(request: Request) -> Services:  # async: no I/O, so no thread hop
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def _presented_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials if credentials.scheme.lower() == "bearer" else None
    session = request.cookies.get(SESSION_COOKIE)
    if session and request.method not in _SAFE_METHODS and request.headers.get(CONSOLE_HEADER) != "1":
        raise Forbidden(f"a signed-in console request that changes data must send the {CONSOLE_HEADER}: 1 header")
    return session


async def get_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """async: a token seen a moment ago costs no catalog read (and no thread hop); others are read in a thread."""
    unauthorized = HTTPException(
        status_code=401,
        detail="missing or invalid API token; send `Authorization: Bearer <token>` with a token from `costlake token create`",
        headers={"WWW-Authenticate": "Bearer"},
    )
    secret = _presented_token(request, credentials)
    if secret is None:
        raise unauthorized
    token = recent_token(secret) or await run_in_threadpool(authenticate, services.catalog, secret)
    if token is None:
        raise unauthorized
    return Principal(tenant_id=token.tenant_id, role=token.role, token_id=token.id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_tenant(tenant_id: str, principal: PrincipalDep, services: ServicesDep) -> Tenant:
    """The path's tenant (by id or name), if the caller may see it (async, as get_principal)."""
    tenant = recent_tenant(tenant_id) or await run_in_threadpool(find_tenant, services.catalog, tenant_id)
    if tenant is None or not (principal.operator or tenant.id == principal.tenant_id):
        raise NotFound(f"no tenant {tenant_id!r}")
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]


async def require_admin(request: Request, principal: PrincipalDep, tenant: TenantDep) -> Tenant:
    if not principal.admin:
        # Name what the path manages: /api/v1/tenants/{t}/billing-sources/... -> "billing sources".
        parts = request.url.path.split("/")
        what = parts[5].replace("-", " ") if len(parts) > 5 else "these"
        raise Forbidden(f"{what} are managed by the tenant's admins; this token has the member role")
    return tenant


AdminTenantDep = Annotated[Tenant, Depends(require_admin)]


def admins_only(what: str) -> Any:
    """A tenant dependency for endpoints only the tenant's admins may call; `what` names them in the 403."""

    async def require(principal: PrincipalDep, tenant: TenantDep) -> Tenant:
        if not principal.admin:
            raise Forbidden(f"{what} are managed by the tenant's admins; this token has the member role")
        return tenant

    return Depends(require)
