"""/api/v1/tenants/{tenant_id}/billing-sources: admins of the tenant only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from costlake.api.auth import AdminTenantDep, PrincipalDep, ServicesDep
from costlake.api.responses import ADMIN, CONFLICT
from costlake.api.schemas import (
    RunOut,
    RunPage,
    SourceCreate,
    SourceOut,
    SourceUpdate,
    SyncRequest,
    changes_of,
    source_fields,
)
from costlake.billing_sources import service as management
from costlake.billing_sources.service import Caller
from costlake.catalog import runs as run_rows
from costlake.catalog import sources as source_rows
from costlake.catalog.models import SyncRun, Tenant
from costlake.catalog.run_control import request_cancel
from costlake.errors import NotFound
from costlake.services import Services

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/billing-sources", tags=["billing sources"], responses=ADMIN)


def _caller(principal: PrincipalDep) -> Caller:
    return Caller(operator=principal.operator, owner=f"api:{principal.token_id or 'operator'}")


@router.get("", response_model=list[SourceOut])
def list_sources(
    tenant: AdminTenantDep,
    services: ServicesDep,
    name: Annotated[str | None, Query(max_length=200, description="only the source with this exact name")] = None,
) -> list[SourceOut]:
    if name is not None:
        found = source_rows.find_source_by_name(services.catalog, tenant.id, name)
        return [SourceOut.of(found)] if found else []
    return [SourceOut.of(source) for source in source_rows.list_sources(services.catalog, tenant.id)]


@router.post("", response_model=SourceOut, status_code=201)
def create_source(body: SourceCreate, tenant: AdminTenantDep, principal: PrincipalDep, services: ServicesDep) -> SourceOut:
    fields = source_fields(body, SourceCreate.model_fields)
    added = management.create_source(
        services.catalog, services.settings, tenant, _caller(principal), fields, validate=body.validate_uri
    )
    return SourceOut.of(added.source, notices=added.notices)


@router.get("/{source_id}", response_model=SourceOut)
def get_source(source_id: str, tenant: AdminTenantDep, services: ServicesDep) -> SourceOut:
    return SourceOut.of(source_rows.get_source(services.catalog, tenant.id, source_id))


@router.put("/{source_id}", response_model=SourceOut)
def update_source(
    source_id: str, body: SourceUpdate, tenant: AdminTenantDep, principal: PrincipalDep, services: ServicesDep
) -> SourceOut:
    source = management.update_source(
        services.catalog,
        services.settings,
        tenant,
        _caller(principal),
        source_id,
        changes_of(body),
        validate=body.validate_uri,
    )
    return SourceOut.of(source)


@router.delete("/{source_id}", status_code=204, response_class=Response, responses=CONFLICT)
def delete_source(source_id: str, tenant: AdminTenantDep, principal: PrincipalDep, services: ServicesDep) -> Response:
    management.remove_source(
        services.catalog, services.lake, services.settings, tenant, _caller(principal), source_id, services.runner.context.handlers
    )
    return Response(status_code=204)


@router.post("/{source_id}/sync", response_model=RunOut, status_code=202, responses=CONFLICT)
def sync_source(
    source_id: str,
    tenant: AdminTenantDep,
    services: ServicesDep,
    body: Annotated[SyncRequest | None, Body()] = None,
) -> RunOut:
    source = source_rows.get_source(services.catalog, tenant.id, source_id)
    run = services.runner.start(source, from_date=body.from_date if body else None)
    return RunOut.of(run)


@router.get("/{source_id}/syncs", response_model=RunPage)
def list_syncs(
    source_id: str,
    tenant: AdminTenantDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> RunPage:
    source = source_rows.get_source(services.catalog, tenant.id, source_id)
    runs, next_cursor = run_rows.list_runs(services.catalog, source.id, limit=limit, cursor=cursor)
    return RunPage(items=[RunOut.of(run) for run in runs], next_cursor=next_cursor)


def _run_of(services: Services, tenant: Tenant, source_id: str, run_id: str) -> SyncRun:
    source = source_rows.get_source(services.catalog, tenant.id, source_id)
    run = run_rows.get_run(services.catalog, run_id)
    if run is None or run.source_id != source.id:
        raise NotFound(f"no sync run {run_id!r} for this source")
    return run


@router.get("/{source_id}/syncs/{run_id}", response_model=RunOut)
def get_sync(source_id: str, run_id: str, tenant: AdminTenantDep, services: ServicesDep) -> RunOut:
    return RunOut.of(_run_of(services, tenant, source_id, run_id))


@router.post(
    "/{source_id}/syncs/{run_id}/cancel",
    response_model=RunOut,
    status_code=202,
    responses={
        403: {"description": "The token has the member role"},
        404: {"description": "No such source or run in this tenant"},
        409: {"description": "The run is not running (it already ended)"},
    },
)
def cancel_sync(source_id: str, run_id: str, tenant: AdminTenantDep, services: ServicesDep) -> RunOut:
    """Ask a running sync to stop. It stops before its commit (at its next batch, or before committing) and ends
    as `cancelled`, its staged files removed and the store as it was; a run already committing ends as it would."""
    return RunOut.of(request_cancel(services.catalog, _run_of(services, tenant, source_id, run_id)))
