"""/views and /dashboards: admins and members create their own, read everyone's in the tenant; members change
only their own, admins any."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Response

from costlake.api.auth import PrincipalDep, ServicesDep, TenantDep
from costlake.api.responses import answers
from costlake.api.routes.costs import cost_answer
from costlake.api.schemas_dashboards import DashboardIn, DashboardOut, DashboardUpdate, ViewIn, ViewOut, ViewResult, ViewUpdate
from costlake.catalog import tenant_rows
from costlake.catalog.models import Dashboard, SavedView
from costlake.dashboards.views import check_owner, check_query, check_widgets, view_query
from costlake.query.scope import Scope

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["views and dashboards"])


def _view_fields(body: ViewIn | ViewUpdate, fields: set[str], stored: SavedView | None = None) -> dict[str, Any]:
    changes: dict[str, Any] = {name: getattr(body, name) for name in fields if name not in ("query", "range", "events_overlay")}
    if "events_overlay" in fields:
        changes["events_overlay"] = body.events_overlay.model_dump() if body.events_overlay else None
    if "query" in fields or "range" in fields:
        query = body.query if body.query is not None else {k: v for k, v in (stored.query if stored else {}).items() if k != "range"}
        relative = body.range if "range" in fields else (stored.query.get("range") if stored else None)
        changes["query"] = check_query(query, relative)
    return changes


@router.post("/views", response_model=ViewOut, status_code=201, responses=answers(404, 422))
def create_view(body: ViewIn, tenant: TenantDep, principal: PrincipalDep, services: ServicesDep) -> ViewOut:
    fields = _view_fields(body, set(ViewIn.model_fields))
    return ViewOut.of(tenant_rows.insert_row(services.catalog, SavedView(tenant_id=tenant.id, created_by=principal.token_id, **fields)))


@router.get("/views", response_model=list[ViewOut], responses=answers(404))
def list_views(tenant: TenantDep, services: ServicesDep) -> list[ViewOut]:
    return [ViewOut.of(view) for view in tenant_rows.list_rows(services.catalog, SavedView, tenant.id)]


@router.get("/views/{view_id}", response_model=ViewOut, responses=answers(404))
def get_view(view_id: str, tenant: TenantDep, services: ServicesDep) -> ViewOut:
    return ViewOut.of(tenant_rows.get_row(services.catalog, SavedView, tenant.id, view_id))


@router.put("/views/{view_id}", response_model=ViewOut, responses=answers(403, 404, 422))
def update_view(view_id: str, body: ViewUpdate, tenant: TenantDep, principal: PrincipalDep, services: ServicesDep) -> ViewOut:
    view = tenant_rows.get_row(services.catalog, SavedView, tenant.id, view_id)
    check_owner(view, principal.token_id, principal.admin)
    changes = _view_fields(body, body.model_fields_set, view)
    return ViewOut.of(tenant_rows.update_row(services.catalog, SavedView, tenant.id, view_id, changes))


@router.delete("/views/{view_id}", status_code=204, response_class=Response, responses=answers(403, 404))
def delete_view(view_id: str, tenant: TenantDep, principal: PrincipalDep, services: ServicesDep) -> Response:
    check_owner(tenant_rows.get_row(services.catalog, SavedView, tenant.id, view_id), principal.token_id, principal.admin)
    tenant_rows.delete_row(services.catalog, SavedView, tenant.id, view_id)
    return Response(status_code=204)


@router.get("/views/{view_id}/result", response_model=ViewResult, response_model_exclude_unset=True, responses=answers(404, 422))
def run_view(view_id: str, tenant: TenantDep, services: ServicesDep, today: date | None = None) -> dict[str, Any]:
    """The view's costs now (a relative range ends today, or on `today` when given)."""
    view = tenant_rows.get_row(services.catalog, SavedView, tenant.id, view_id)
    query = view_query(view, today)
    result = cost_answer(query, tenant, Scope(tenant_id=tenant.id), services)
    return {**result, "view": ViewOut.of(view), "query": query.model_dump(mode="json")}


@router.post("/dashboards", response_model=DashboardOut, status_code=201, responses=answers(404, 422))
def create_dashboard(body: DashboardIn, tenant: TenantDep, principal: PrincipalDep, services: ServicesDep) -> DashboardOut:
    widgets = check_widgets(services.catalog, tenant.id, [widget.model_dump() for widget in body.widgets])
    dashboard = Dashboard(tenant_id=tenant.id, name=body.name, widgets=widgets, created_by=principal.token_id)
    return DashboardOut.of(tenant_rows.insert_row(services.catalog, dashboard))


@router.get("/dashboards", response_model=list[DashboardOut], responses=answers(404))
def list_dashboards(tenant: TenantDep, services: ServicesDep) -> list[DashboardOut]:
    return [DashboardOut.of(dashboard) for dashboard in tenant_rows.list_rows(services.catalog, Dashboard, tenant.id)]


@router.get("/dashboards/{dashboard_id}", response_model=DashboardOut, responses=answers(404))
def get_dashboard(dashboard_id: str, tenant: TenantDep, services: ServicesDep) -> DashboardOut:
    return DashboardOut.of(tenant_rows.get_row(services.catalog, Dashboard, tenant.id, dashboard_id))


@router.put("/dashboards/{dashboard_id}", response_model=DashboardOut, responses=answers(403, 404, 422))
def update_dashboard(
    dashboard_id: str, body: DashboardUpdate, tenant: TenantDep, principal: PrincipalDep, services: ServicesDep
) -> DashboardOut:
    check_owner(tenant_rows.get_row(services.catalog, Dashboard, tenant.id, dashboard_id), principal.token_id, principal.admin)
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name
    if body.widgets is not None:
        changes["widgets"] = check_widgets(services.catalog, tenant.id, [widget.model_dump() for widget in body.widgets])
    return DashboardOut.of(tenant_rows.update_row(services.catalog, Dashboard, tenant.id, dashboard_id, changes))


@router.delete("/dashboards/{dashboard_id}", status_code=204, response_class=Response, responses=answers(403, 404))
def delete_dashboard(dashboard_id: str, tenant: TenantDep, principal: PrincipalDep, services: ServicesDep) -> Response:
    check_owner(tenant_rows.get_row(services.catalog, Dashboard, tenant.id, dashboard_id), principal.token_id, principal.admin)
    tenant_rows.delete_row(services.catalog, Dashboard, tenant.id, dashboard_id)
    return Response(status_code=204)
