"""/api/v1/tenants/{tenant_id}/budgets: admins manage; members read, with each budget's status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from costlake.alerts import budgets as budget_logic
from costlake.alerts.series import tenant_scope
from costlake.alerts.specs import BudgetPreview, BudgetSpec
from costlake.api.auth import AdminTenantDep, ServicesDep, TenantDep
from costlake.api.responses import answers
from costlake.api.schemas_alerts import BudgetOut
from costlake.catalog import tenant_rows
from costlake.catalog.models import AlertChannel, Budget, utcnow
from costlake.errors import InvalidInput
from costlake.query.model import Filter, allocation_names
from costlake.services import Services

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/budgets", tags=["alerts"])
WHY = {
    403: "members may read, only admins manage",
    404: "no such tenant or budget",
    422: "invalid body: unknown dimension, bad amount or currency, a channel not in this tenant",
}
AsOf = Annotated[date | None, Query(description="the day the status is for (default: today, UTC)")]


def check_channels(services: Services, tenant_id: str, channel_ids: list[str]) -> None:
    known = {channel.id for channel in tenant_rows.list_rows(services.catalog, AlertChannel, tenant_id)}
    missing = [cid for cid in channel_ids if cid not in known]
    if missing:
        raise InvalidInput("channels", f"no channel {missing[0]!r} in this tenant; list them with GET .../channels")


def check_dimensions(services: Services, tenant_id: str, filters: Sequence[Filter], split_by: Sequence[str] = ()) -> None:
    """A dim:<name> in a budget's or monitor's scope must be one the tenant's published allocation rules define:
    a 422 now rather than evaluations that fail later."""
    scope = tenant_scope(tenant_id)
    services.allocation.for_query(scope, allocation_names(list(split_by)), None, field="split_by")
    services.allocation.for_query(scope, allocation_names([f.dimension for f in filters]), None, field="filters")


def _out(services: Services, budget: Budget, as_of: date | None) -> BudgetOut:
    spec = budget_logic.spec_of(budget)
    status = budget_logic.budget_status(services.reader, tenant_scope(budget.tenant_id), spec, as_of or utcnow().date())
    return BudgetOut.of(budget, budget_logic.status_view(spec, status))


@router.get("", response_model=list[BudgetOut], responses=answers(404, why=WHY))
def list_budgets(tenant: TenantDep, services: ServicesDep, as_of: AsOf = None) -> list[BudgetOut]:
    return [_out(services, budget, as_of) for budget in tenant_rows.list_rows(services.catalog, Budget, tenant.id)]


@router.post("", response_model=BudgetOut, status_code=201, responses=answers(403, 404, 422, why=WHY))
def create_budget(body: BudgetSpec, tenant: AdminTenantDep, services: ServicesDep) -> BudgetOut:
    check_channels(services, tenant.id, body.channels)
    check_dimensions(services, tenant.id, body.filters)
    budget = tenant_rows.insert_row(services.catalog, Budget(tenant_id=tenant.id, **budget_logic.budget_fields(body)))
    return _out(services, budget, None)


@router.post("/preview", responses=answers(403, 404, 422, why=WHY))
def preview_budget(body: BudgetPreview, tenant: AdminTenantDep, services: ServicesDep) -> dict[str, Any]:
    """Backtest: per period of start..end, the first day each threshold was (or would have been) crossed."""
    check_dimensions(services, tenant.id, body.filters)
    periods = list(budget_logic.backtest(services.reader, tenant_scope(tenant.id), body, body.start, body.end))
    return {"periods": periods, "crossings": sum(len(p["crossed"]) for p in periods)}


@router.get("/{budget_id}", response_model=BudgetOut, responses=answers(404, why=WHY))
def get_budget(budget_id: str, tenant: TenantDep, services: ServicesDep, as_of: AsOf = None) -> BudgetOut:
    return _out(services, tenant_rows.get_row(services.catalog, Budget, tenant.id, budget_id), as_of)


@router.put("/{budget_id}", response_model=BudgetOut, responses=answers(403, 404, 422, why=WHY))
def update_budget(budget_id: str, body: BudgetSpec, tenant: AdminTenantDep, services: ServicesDep) -> BudgetOut:
    check_channels(services, tenant.id, body.channels)
    check_dimensions(services, tenant.id, body.filters)
    budget = tenant_rows.update_row(services.catalog, Budget, tenant.id, budget_id, budget_logic.budget_fields(body))
    return _out(services, budget, None)


@router.delete("/{budget_id}", status_code=204, response_class=Response, responses=answers(403, 404, why=WHY))
def delete_budget(budget_id: str, tenant: AdminTenantDep, services: ServicesDep) -> Response:
    tenant_rows.delete_row(services.catalog, Budget, tenant.id, budget_id)
    return Response(status_code=204)
