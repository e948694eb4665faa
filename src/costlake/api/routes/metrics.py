"""/api/v1/tenants/{tenant_id}/metrics: usage metrics. Members read; admins define metrics, write values and pulls."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from costlake.api.auth import PrincipalDep, ServicesDep, TenantDep, admins_only
from costlake.api.responses import answers
from costlake.api.schemas_metrics import (
    MetricCreate,
    MetricOut,
    MetricUpdate,
    PullIn,
    PullOut,
    PullRunOut,
    PullRunRequest,
    ValuesIn,
    ValuesOut,
    ValuesWritten,
)
from costlake.catalog import metric_pulls as pull_rows
from costlake.catalog import metrics as metric_rows
from costlake.catalog.models import Metric, Tenant
from costlake.errors import InvalidInput
from costlake.metrics.labels import LabelChecker
from costlake.metrics.pulls import pull_fields
from costlake.metrics.values import RawValue, check_values, csv_values
from costlake.query.scope import Scope
from costlake.services import Services
from costlake.text import decimal_text

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/metrics", tags=["metrics"])
AdminDep = Annotated[Tenant, admins_only("metric definitions, values and pulls")]
MAX_CSV_BYTES = 20 * 1024 * 1024


def _labels(services: Services, tenant: Tenant) -> LabelChecker:
    return LabelChecker(lambda: [key for key, _ in services.reader.tag_coverage(Scope(tenant_id=tenant.id))])


@router.get("", response_model=list[MetricOut], responses=answers(404))
def list_metrics(tenant: TenantDep, services: ServicesDep) -> list[MetricOut]:
    return [MetricOut.of(metric) for metric in metric_rows.list_metrics(services.catalog, tenant.id)]


@router.post("", response_model=MetricOut, status_code=201, responses=answers(403, 404, 422))
def create_metric(body: MetricCreate, tenant: AdminDep, services: ServicesDep) -> MetricOut:
    metric = Metric(tenant_id=tenant.id, **body.model_dump())
    return MetricOut.of(metric_rows.insert_metric(services.catalog, metric))


@router.get("/{name}", response_model=MetricOut, responses=answers(404))
def get_metric(name: str, tenant: TenantDep, services: ServicesDep) -> MetricOut:
    return MetricOut.of(metric_rows.get_metric(services.catalog, tenant.id, name))


@router.put("/{name}", response_model=MetricOut, responses=answers(403, 404, 422))
def update_metric(name: str, body: MetricUpdate, tenant: AdminDep, services: ServicesDep) -> MetricOut:
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    if any(value is None for field, value in changes.items() if field != "description"):
        raise InvalidInput("body", "unit and aggregation cannot be null; leave them out to keep them")
    return MetricOut.of(metric_rows.update_metric(services.catalog, tenant.id, name, changes))


@router.delete("/{name}", status_code=204, response_class=Response, responses=answers(403, 404))
def delete_metric(name: str, tenant: AdminDep, services: ServicesDep) -> Response:
    metric_rows.delete_metric(services.catalog, tenant.id, name)
    return Response(status_code=204)


@router.post("/{name}/values", response_model=ValuesWritten, responses=answers(403, 404, 422))
def write_values(name: str, body: ValuesIn, tenant: AdminDep, services: ServicesDep) -> dict[str, int]:
    """Upsert by day and labels; `"value": null` deletes. One bad item refuses the whole request, naming it."""
    metric = metric_rows.get_metric(services.catalog, tenant.id, name)
    raws = [RawValue(f"values[{i}]", item.date, item.value, item.labels) for i, item in enumerate(body.values)]
    changes = check_values(raws, _labels(services, tenant))
    upserted, deleted = metric_rows.write_values(services.catalog, metric.id, changes)
    return {"upserted": upserted, "deleted": deleted}


@router.post(
    "/{name}/values.csv",
    response_model=ValuesWritten,
    responses=answers(403, 404, 413, 422),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def upload_csv(name: str, request: Request, tenant: AdminDep, services: ServicesDep) -> dict[str, int]:
    """A CSV file `date,value[,label columns]`: the same upsert, all or nothing; errors name the line."""
    metric = metric_rows.get_metric(services.catalog, tenant.id, name)
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInput("body", f"the file is larger than {MAX_CSV_BYTES // 1024 // 1024} MiB; split it")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("body", "the file is not UTF-8 text") from None

    def store() -> dict[str, int]:
        changes = check_values(csv_values(text), _labels(services, tenant))
        upserted, deleted = metric_rows.write_values(services.catalog, metric.id, changes)
        return {"upserted": upserted, "deleted": deleted}

    return await run_in_threadpool(store)


@router.get("/{name}/values", response_model=ValuesOut, responses=answers(404, 422))
def read_values(
    name: str,
    tenant: TenantDep,
    services: ServicesDep,
    start: Annotated[date | None, Query(description="First day")] = None,
    end: Annotated[date | None, Query(description="Day after the last (exclusive)")] = None,
) -> dict[str, Any]:
    metric = metric_rows.get_metric(services.catalog, tenant.id, name)
    values = metric_rows.read_values(services.catalog, metric.id, start, end)
    return {
        "metric": metric.name,
        "unit": metric.unit,
        "values": [{"date": v.day, "value": decimal_text(v.value), "labels": v.labels} for v in values],
    }


def _metric(name: str, tenant: TenantDep, services: ServicesDep) -> Metric:
    return metric_rows.get_metric(services.catalog, tenant.id, name)


MetricDep = Annotated[Metric, Depends(_metric)]


@router.put("/{name}/pull", response_model=PullOut, responses=answers(403, 404, 422))
def set_pull(body: PullIn, tenant: AdminDep, metric: MetricDep, principal: PrincipalDep, services: ServicesDep) -> PullOut:
    """Pull the metric's values on schedule; a new query or server backfills again on the next run."""
    stored = pull_rows.find_pull(services.catalog, metric)
    spec = body.model_dump(exclude_none=True) | {"credential": body.credential.model_dump() if body.credential else None}
    fields = pull_fields(spec, services.settings, tenant_name=tenant.name, operator=principal.operator, stored=stored)
    return PullOut.of(pull_rows.save_pull(services.catalog, metric, fields), metric.name)


@router.get("/{name}/pull", response_model=PullOut, responses=answers(403, 404))
def get_pull(tenant: AdminDep, metric: MetricDep, services: ServicesDep) -> PullOut:
    return PullOut.of(pull_rows.get_pull(services.catalog, metric), metric.name)


@router.delete("/{name}/pull", status_code=204, response_class=Response, responses=answers(403, 404))
def delete_pull(tenant: AdminDep, metric: MetricDep, services: ServicesDep) -> Response:
    """Stop pulling; the values already pulled stay."""
    pull_rows.delete_pull(services.catalog, metric)
    return Response(status_code=204)


@router.post("/{name}/pull/runs", response_model=PullRunOut, status_code=202, responses=answers(403, 404, 409, 422))
def run_pull(
    tenant: AdminDep, metric: MetricDep, services: ServicesDep, body: Annotated[PullRunRequest | None, Body()] = None
) -> PullRunOut:
    """Pull now (the trailing window, or a backfill from `from`); the run goes on in the background."""
    pull = pull_rows.get_pull(services.catalog, metric)
    return PullRunOut.of(services.pulls.start(pull, from_date=body.from_date if body else None, manual=True))


@router.get("/{name}/pull/runs", response_model=list[PullRunOut], responses=answers(403, 404))
def list_pull_runs(
    tenant: AdminDep, metric: MetricDep, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[PullRunOut]:
    pull = pull_rows.get_pull(services.catalog, metric)
    return [PullRunOut.of(run) for run in pull_rows.list_runs(services.catalog, pull, limit)]


@router.get("/{name}/pull/runs/{run_id}", response_model=PullRunOut, responses=answers(403, 404))
def get_pull_run(run_id: str, tenant: AdminDep, metric: MetricDep, services: ServicesDep) -> PullRunOut:
    return PullRunOut.of(pull_rows.get_run(services.catalog, pull_rows.get_pull(services.catalog, metric), run_id))
