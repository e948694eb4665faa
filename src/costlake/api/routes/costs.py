"""Cost exploration and data health: for admins and members of the tenant."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from costlake.api.auth import ServicesDep, TenantDep
from costlake.api.responses import BUSY, CHANGE, TENANT
from costlake.api.schemas import (
    CostQueryResult,
    DataHealthOut,
    DimensionsOut,
    DimensionValuesOut,
    MonthHealthOut,
    SourceHealthOut,
)
from costlake.catalog import sources as source_rows
from costlake.catalog.models import Tenant
from costlake.errors import InvalidInput
from costlake.query.engine import dimension_catalog
from costlake.query.health import data_health
from costlake.query.model import CostQuery, Filter, check_dimension
from costlake.query.scope import Scope
from costlake.text import money_text

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["costs"], responses={**TENANT, **BUSY})


def get_scope(tenant: TenantDep) -> Scope:
    """The caller's scope: today, the whole tenant."""
    return Scope(tenant_id=tenant.id)


ScopeDep = Annotated[Scope, Depends(get_scope)]


def _source_names(services: Any, tenant: Tenant) -> dict[str, str]:
    return {source.id: source.name for source in source_rows.list_sources(services.catalog, tenant.id)}


def _with_source_ids(filters: list[Filter], names: dict[str, str]) -> list[Filter]:
    """Filters on `source` accept names as well as ids; the table holds ids."""
    ids_by_name = {name: source_id for source_id, name in names.items()}
    return [
        f.model_copy(update={"values": [ids_by_name.get(v, v) for v in f.values]}) if f.dimension == "source" else f
        for f in filters
    ]


@router.post("/costs/query", response_model=CostQueryResult, responses=CHANGE)
def query_costs(query: CostQuery, tenant: TenantDep, scope: ScopeDep, services: ServicesDep) -> dict[str, Any]:
    names = _source_names(services, tenant)
    query = query.model_copy(update={"filters": _with_source_ids(query.filters, names)})
    rows, elapsed_ms = services.reader.costs(query, scope)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    out = []
    for row in rows:
        totals[row.currency] += row.cost
        fields: dict[str, Any] = {"period": row.period}
        for dimension, value in zip(query.group_by, row.groups, strict=True):
            fields[dimension] = names.get(value, value) if dimension == "source" and value else value
        out.append({**fields, "cost": money_text(row.cost), "currency": row.currency, "other": row.other})
    return {
        "rows": out,
        "totals": {currency: money_text(total) for currency, total in sorted(totals.items())},
        "elapsed_ms": round(elapsed_ms, 2),
    }


@router.get("/costs/dimensions", response_model=DimensionsOut)
def dimensions(scope: ScopeDep, services: ServicesDep) -> dict[str, Any]:
    tag_keys = [{"key": key, "coverage": coverage} for key, coverage in services.reader.tag_coverage(scope)]
    return {"dimensions": dimension_catalog(), "tag_keys": tag_keys}


@router.get("/costs/dimension-values", response_model=DimensionValuesOut)
def dimension_values(
    tenant: TenantDep,
    scope: ScopeDep,
    services: ServicesDep,
    dimension: Annotated[str, Query(min_length=1, max_length=260)],
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,9}$", description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    try:
        check_dimension(dimension)
    except ValueError as error:
        raise InvalidInput("dimension", str(error)) from None
    offset = int(cursor or 0)
    values = services.reader.dimension_values(scope, dimension, search=search, limit=limit + 1, offset=offset)
    names = _source_names(services, tenant) if dimension == "source" else {}
    page = [
        {"value": str(names.get(value, value)), "costs": {c: money_text(v) for c, v in costs.items()}}
        for value, costs in values[:limit]
    ]
    return {"values": page, "next_cursor": str(offset + limit) if len(values) > limit else None}


@router.get("/data-health", response_model=DataHealthOut)
def health(tenant: TenantDep, scope: ScopeDep, services: ServicesDep) -> dict[str, Any]:
    sources = source_rows.list_sources(services.catalog, tenant.id)
    report = data_health(services.reader, scope, sources, services.settings.sync_interval)
    return {
        "sources": [
            SourceHealthOut(
                id=entry.source.id,
                name=entry.source.name,
                provider=entry.source.provider,
                format=entry.source.format,
                enabled=entry.source.enabled,
                status=entry.source.last_status,
                last_success_at=entry.source.last_success_at,
                last_error=entry.source.last_error,
                freshness=entry.freshness,
                stale=entry.stale,
                months=[
                    MonthHealthOut(
                        month=m.month, rows=m.rows, billed_cost={c: money_text(v) for c, v in sorted(m.billed_cost.items())}
                    )
                    for m in entry.months
                ],
            )
            for entry in report
        ]
    }
