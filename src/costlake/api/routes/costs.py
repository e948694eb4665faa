"""Cost exploration and data health: for admins and members of the tenant."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from costlake.api.auth import ServicesDep, TenantDep
from costlake.api.responses import BUSY, CHANGE, TENANT
from costlake.api.schemas import (
    ChannelHealthOut,
    CostQueryResult,
    DataHealthOut,
    DimensionsOut,
    DimensionValuesOut,
    MonthHealthOut,
    SourceHealthOut,
)
from costlake.catalog import sources as source_rows
from costlake.catalog import tenant_rows
from costlake.catalog.models import AlertChannel, Tenant
from costlake.errors import InvalidInput
from costlake.metrics.health import metric_pull_health
from costlake.metrics.units import with_unit_costs
from costlake.notify.deliveries import channel_failing
from costlake.query.allocated import AllocationPlan
from costlake.query.engine import dimension_catalog
from costlake.query.health import data_health
from costlake.query.model import CostQuery, Filter, allocation_names, check_dimension
from costlake.query.scope import Scope
from costlake.text import money_text

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["costs"], responses={**TENANT, **BUSY})


async def get_scope(tenant: TenantDep) -> Scope:
    """The caller's scope: today, the whole tenant. (async: no I/O, so no thread hop)"""
    return Scope(tenant_id=tenant.id)


ScopeDep = Annotated[Scope, Depends(get_scope)]


def allocation_state(services: Any, scope: Scope) -> dict[str, Any] | None:
    """The published allocation version with each dimension's coverage, or None when none is published."""
    plan = services.allocation.plans.get(scope.tenant_id)
    return None if plan is None else {"version": plan.version, "dimensions": services.allocation.coverage(scope, plan)}


def _with_source_ids(filters: list[Filter], names: dict[str, str]) -> list[Filter]:
    """Filters on `source` accept names as well as ids; the table holds ids."""
    ids_by_name = {name: source_id for source_id, name in names.items()}
    return [
        f.model_copy(update={"values": [ids_by_name.get(v, v) for v in f.values]}) if f.dimension == "source" else f
        for f in filters
    ]


@router.post("/costs/query", response_model=CostQueryResult, response_model_exclude_unset=True, responses=CHANGE)
async def query_costs(query: CostQuery, tenant: TenantDep, scope: ScopeDep, services: ServicesDep) -> Response:
    """Repeated questions (dashboards, digests, the explorer's back button) are answered from the finished JSON,
    kept until the table's next version: the rows' formatting and validation cost more than the kept rows. async:
    a repeated plain question is answered on the event loop, without a thread hop; the rest runs in a thread."""
    names = source_rows.recent_source_names(tenant.id)
    if names is not None and query.unit_metric is None and not query.allocation_dimensions() and query.allocation_version is None:
        body = services.reader.recall(scope, _answer_key(query, names, None))
        if body is not None:
            return Response(body, media_type="application/json")
    return await run_in_threadpool(_query_costs, query, tenant, scope, services)


def _query_costs(query: CostQuery, tenant: Tenant, scope: Scope, services: Any) -> Response:
    names = source_rows.source_names(services.catalog, tenant.id)
    plan = _plan(query, scope, services)
    if query.unit_metric is not None:  # metric values change without a new table version
        body = _json(cost_answer(query, tenant, scope, services, names, plan))
    else:
        key = _answer_key(query, names, plan)
        body = services.reader.kept(scope, key, lambda: _json(cost_answer(query, tenant, scope, services, names, plan)))
    return Response(body, media_type="application/json")


def _answer_key(query: CostQuery, names: dict[str, str], plan: AllocationPlan | None) -> tuple[Any, ...]:
    return (query.model_dump_json(), tuple(sorted(names.items())), plan.version if plan else None)


def _json(answer: dict[str, Any]) -> bytes:
    return CostQueryResult.model_validate(answer).model_dump_json(exclude_unset=True).encode()


def _plan(query: CostQuery, scope: Scope, services: Any) -> AllocationPlan | None:
    field = "group_by" if allocation_names(query.group_by) else "filters"
    return services.allocation.for_query(scope, query.allocation_dimensions(), query.allocation_version, field)


def cost_answer(
    query: CostQuery, tenant: Tenant, scope: Scope, services: Any, names: dict[str, str] | None = None, plan: AllocationPlan | None = None
) -> dict[str, Any]:
    """The costs/query answer as a dict (saved views add to it)."""
    names = source_rows.source_names(services.catalog, tenant.id) if names is None else names
    plan = _plan(query, scope, services) if plan is None else plan
    query = query.model_copy(update={"filters": _with_source_ids(query.filters, names)})
    answer = services.reader.costs(query, scope, plan)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    out = []
    for row in answer.rows:
        totals[row.currency] += row.cost
        fields: dict[str, Any] = {"period": row.period}
        for dimension, value in zip(query.group_by, row.groups, strict=True):
            fields[dimension] = names.get(value, value) if dimension == "source" and value else value
        out.append({**fields, "cost": money_text(row.cost), "currency": row.currency, "other": row.other})
    result = {
        "rows": out,
        "totals": {currency: money_text(total) for currency, total in sorted(totals.items())},
        "elapsed_ms": round(answer.elapsed_ms, 2),
    }
    if plan is not None:  # a plain query answers exactly as before allocation existed
        result |= {"allocation_version": plan.version, "warnings": answer.notes}
    if query.unit_metric is not None:
        result |= with_unit_costs(services.catalog, tenant.id, query, answer.rows, out)
    return result


@router.get("/costs/dimensions", response_model=DimensionsOut)
def dimensions(scope: ScopeDep, services: ServicesDep) -> dict[str, Any]:
    tag_keys = [{"key": key, "coverage": coverage} for key, coverage in services.reader.tag_coverage(scope)]
    allocation = allocation_state(services, scope)
    virtual = [{"name": f"dim:{entry['name']}", "label": entry["name"]} for entry in (allocation or {}).get("dimensions", [])]
    return {"dimensions": dimension_catalog() + virtual, "tag_keys": tag_keys, "allocation": allocation}


@router.get("/costs/dimension-values", response_model=DimensionValuesOut)
async def dimension_values(
    tenant: TenantDep,
    scope: ScopeDep,
    services: ServicesDep,
    dimension: Annotated[str, Query(min_length=1, max_length=260)],
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,9}$", description="next_cursor of the previous page")] = None,
    start: Annotated[date | None, Query(description="With end: count only costs from this day (as the query's start)")] = None,
    end: Annotated[date | None, Query(description="With start: up to this day, exclusive")] = None,
    time_basis: Annotated[Literal["charge", "billing"], Query(description="As the cost query's time_basis")] = "charge",
    allocation_version: Annotated[int | None, Query(ge=1, description="For dim:<name>: the rules version (default: published)")] = None,
) -> Response:
    """Filter pickers ask the same pages again and again: kept like costs/query answers (and answered on the event
    loop when kept, for values that need neither allocation rules nor source names)."""
    try:
        check_dimension(dimension)
    except ValueError as error:
        raise InvalidInput("dimension", str(error)) from None
    if (start is None) != (end is None):
        raise InvalidInput("start" if start is None else "end", "give start and end together (end exclusive), or neither")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("end", "end must be after start (end is exclusive)")
    period = (start, end, time_basis) if start is not None and end is not None else None
    page = ValuesPage(dimension, search, limit, int(cursor or 0), period)
    if dimension != "source" and not allocation_names([dimension]) and allocation_version is None:
        body = services.reader.recall(scope, _values_key(page, None, {}))
        if body is not None:
            return Response(body, media_type="application/json")
    return await run_in_threadpool(_dimension_values, tenant, scope, services, page, allocation_version)


@dataclass(frozen=True)
class ValuesPage:
    dimension: str
    search: str | None
    limit: int
    offset: int
    period: tuple[date, date, str] | None


def _dimension_values(tenant: Tenant, scope: Scope, services: Any, page: ValuesPage, allocation_version: int | None) -> Response:
    plan = services.allocation.for_query(scope, allocation_names([page.dimension]), allocation_version, field="dimension")
    names = source_rows.source_names(services.catalog, tenant.id) if page.dimension == "source" else {}

    def answer() -> bytes:
        values = services.reader.dimension_values(
            scope, page.dimension, search=page.search, limit=page.limit + 1, offset=page.offset, period=page.period, plan=plan
        )
        shown = [
            {"value": str(names.get(value, value)), "costs": {c: money_text(v) for c, v in costs.items()}}
            for value, costs in values[: page.limit]
        ]
        more = str(page.offset + page.limit) if len(values) > page.limit else None
        return DimensionValuesOut.model_validate({"values": shown, "next_cursor": more}).model_dump_json().encode()

    return Response(services.reader.kept(scope, _values_key(page, plan, names), answer), media_type="application/json")


def _values_key(page: ValuesPage, plan: AllocationPlan | None, names: dict[str, str]) -> tuple[Any, ...]:
    return (page, plan.version if plan else None, tuple(sorted(names.items())))


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
                stale_reason=entry.stale_reason,
                months=[
                    MonthHealthOut(
                        month=m.month, rows=m.rows, billed_cost={c: money_text(v) for c, v in sorted(m.billed_cost.items())}
                    )
                    for m in entry.months
                ],
            )
            for entry in report
        ],
        "metric_pulls": metric_pull_health(services.catalog, tenant.id, services.settings.metric_pull_interval),
        "allocation": allocation_state(services, scope),
        "channels": [
            ChannelHealthOut(
                id=channel.id, name=channel.name, kind=channel.kind, failing=channel_failing(channel),
                failing_since=channel.failing_since, last_error=channel.last_error,
            )
            for channel in tenant_rows.list_rows(services.catalog, AlertChannel, tenant.id)
        ],
    }
